"""HTML views, one blueprint per area; handlers are thin: load, check, call an operation."""

from __future__ import annotations

from flask import Flask

from netwerk.views.account import bp as account_bp
from netwerk.views.actions import bp as actions_bp
from netwerk.views.admin import bp as admin_bp
from netwerk.views.auth import bp as auth_bp
from netwerk.views.home import bp as home_bp
from netwerk.views.matches import bp as matches_bp
from netwerk.views.persons import bp as persons_bp
from netwerk.views.plan_print import bp as plan_print_bp
from netwerk.views.plans import bp as plans_bp
from netwerk.web import init_account_gate


def register(app: Flask) -> None:
    for bp in (auth_bp, account_bp, home_bp, admin_bp, persons_bp, matches_bp, actions_bp, plans_bp, plan_print_bp):
        app.register_blueprint(bp)
    init_account_gate(app)
