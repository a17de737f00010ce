"""Core CLI: ``flask --app netwerk demo`` and ``flask --app netwerk jobs worker``."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from netwerk import jobqueue
from netwerk.db import db, utcnow
from netwerk.demo import create_demo_cases, create_demo_region, demo_accounts, demo_password


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Create the fictional demo region (idempotent) and print its accounts."""
    if not current_app.config["DEMO_MODE"]:
        # The demo accounts share a published password and skip two-factor.
        raise click.ClickException("De demoregio kan alleen in demomodus worden aangemaakt (niet in productie).")
    # Imported here: meetings builds on netwerk (see netwerk/setup.py).
    from escalation.demo import create_demo_escalations  # noqa: PLC0415
    from meetings.demo import create_demo_overleggen  # noqa: PLC0415

    orgs, users = create_demo_region()
    persons = create_demo_cases(utcnow().date())
    overleggen = create_demo_overleggen(utcnow().date())
    create_demo_escalations(utcnow())  # the default ladder everywhere, one De Vries escalation
    db.session.commit()
    jobqueue.drain(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"Demoregio klaar: {orgs} organisaties, {users} accounts, {persons} personen en "
               f"{overleggen} overleggen aangemaakt (bestaande overgeslagen).")
    click.echo(f"Wachtwoord voor alle demo-accounts: {demo_password()}")
    for account in demo_accounts():
        click.echo(f"  {account.email:<45} {', '.join(account.roles):<16} {account.organisation}")


@click.group("jobs")
def jobs_cli() -> None:
    """Background jobs."""


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Run the queued jobs and stop.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run an rq worker with scheduler against REDIS_URL."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is niet ingesteld; zonder Redis draait de worker in het app-proces.")
    jobqueue.run_worker(app, burst=burst)


def register(app: Flask) -> None:
    app.cli.add_command(demo_command)
    app.cli.add_command(jobs_cli)
