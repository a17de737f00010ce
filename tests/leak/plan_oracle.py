"""The positive oracle for the household's plan (``tests/leak/plan_scenario.py``), page by
page and written out by hand: which groups of plan markers each account must find where.

A walk's report says which markers showed on which URL; these checks hold each plan URL to
the table, so a page that answers 404 to someone who should see it (or shows the plan to
someone who should not) fails here even when the per-channel totals happen to add up.

Groups: ``fields`` (the family's view and strengths), ``goals``, ``network``, the
actions by owner (``ggz``, ``leerplicht``, ``oma``, ``cjg``), and each concern by its
covenant category. History-only text (old values, the hand-over's reason, progress notes)
is held to ``expected_markers`` on the history page and checked for absence elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import select

from netwerk.db import db
from netwerk.models import User
from netwerk.models.plans import PlanAction
from tests.leak.harness import Report, Scenario

PLAN_TEXT = frozenset({"fields", "goals", "network", "ggz", "leerplicht", "oma", "cjg"})
CONCERNS = frozenset({"zorgen", "veiligheid", "school", "gezondheid"})
ACTION_OWNERS = {"ggz.1": "ggz", "leerplicht.1": "leerplicht", "cjg-alphen.2": "cjg"}  # else: Oma
CJG, GGZ, LEERPLICHT = "CJG Alphen aan den Rijn", "GGZ Rijnland", "Leerplicht Rijnstreek"


@dataclass(frozen=True)
class Sees:
    """What one account must find: ``plan`` — the groups on the plan page, the print
    version and the API's plan (None: those answer 404); ``mine`` — the actions whose texts
    Mijn acties shows; ``api_mine`` — those GET /api/v1/me/actions shows; ``withheld`` —
    organisations named in an "Er is informatie bij …" line on the plan page."""

    plan: frozenset[str] | None = None
    mine: frozenset[str] = frozenset()
    api_mine: frozenset[str] = frozenset()
    withheld: tuple[str, ...] = field(default=())


OPEN = frozenset({"ggz", "leerplicht", "oma"})  # action 4 (cjg) is "niet gelukt": not open
PLAN = {
    # The coordinator's organisation: everything (its own, and the partners' actions for
    # procesregie with the household's consent). The coordinator's Mijn acties and the
    # API's list both hold every open action of the plan.
    "cjg-alphen.1": Sees(PLAN_TEXT | CONCERNS, mine=OPEN, api_mine=OPEN),
    "cjg-alphen.2": Sees(PLAN_TEXT | CONCERNS),  # no longer coordinator; action 4 is closed
    # Action owners: procesregie. GGZ gets zorgen and gezondheid (consent for GGZ), not
    # school (Leerplicht's) or veiligheid; Leerplicht gets school only.
    "ggz.1": Sees(PLAN_TEXT | {"zorgen", "gezondheid"}, frozenset({"ggz"}), frozenset({"ggz"}), (CJG, LEERPLICHT)),
    "ggz.2": Sees(PLAN_TEXT | {"zorgen", "gezondheid"}, frozenset({"ggz"}), frozenset({"ggz"}), (CJG, LEERPLICHT)),
    "leerplicht.1": Sees(PLAN_TEXT | {"school"}, frozenset({"leerplicht"}), frozenset({"leerplicht"}), (CJG,)),
    # At the kitchen table as a professional: procesregie, and zorgen as a care partner.
    "jongerenwerk.1": Sees(PLAN_TEXT | {"zorgen"}, withheld=(CJG, LEERPLICHT)),
    "jongerenwerk.2": Sees(PLAN_TEXT | {"zorgen"}, withheld=(CJG, LEERPLICHT)),
    # Involved but not on the plan: signalering only (the procesregie claim is for Amira
    # alone, not the household), which gives zorgen and veiligheid, never the plan's text.
    "veiligthuis.1": Sees(frozenset({"zorgen", "veiligheid"}), withheld=(CJG, GGZ, LEERPLICHT)),
    "veiligthuis.2": Sees(frozenset({"zorgen", "veiligheid"}), withheld=(CJG, GGZ, LEERPLICHT)),
    "raad.1": Sees(),  # involvement ended
    "leerplicht.2": Sees(PLAN_TEXT | {"school"}, frozenset({"leerplicht"}), frozenset({"leerplicht"}), (CJG,)),
}
# Everyone else: no organisation on the household (or a role without casework) — 404 or 403.


def expectation(account: str) -> Sees:
    return PLAN.get(account, Sees())


def groups_of(scenario: Scenario) -> dict[str, str]:
    """marker -> group, for every plan marker shown on the plan page."""
    ours = {p.action_id for p in scenario.markers.values() if p.action_id is not None}  # not the demo's own
    owners = {a.id: _owner_group(a) for a in db.session.scalars(select(PlanAction).where(PlanAction.id.in_(ours)))}
    found = {}
    for marker, planted in scenario.markers.items():
        if planted.plan_id is None or planted.piece in ("history", "progress"):
            continue
        found[marker] = {"plan": "fields", "goal": "goals", "network": "network",
                         "concern": planted.category}.get(planted.piece) or owners[planted.action_id]
    return found


def _owner_group(action: PlanAction) -> str:
    if action.owner_user is None:
        return "oma"
    return ACTION_OWNERS[action.owner_user.email.split("@")[0]]


def plan_paths(scenario: Scenario) -> dict[str, str]:
    family = scenario.extra["family_id"]
    return {"plan": f"/gezinnen/{family}/plan", "print": f"/gezinnen/{family}/plan/afdrukken",
            "family": f"/gezinnen/{family}/plan/gezinsversie", "history": f"/gezinnen/{family}/plan/geschiedenis",
            "api_plan": f"/api/v1/families/{family}/plan", "mine": "/mijn-acties", "api_mine": "/api/v1/me/actions"}


def seen_on(report: Report, user: User, channel: str, path: str) -> set[str]:
    """Markers the walk found for ``user`` on ``path`` (any query string)."""
    return {f.marker for f in report.findings
            if f.user_id == user.id and f.channel == channel and urlsplit(f.location).path == path}


def statuses(report: Report, user: User, channel: str, path: str) -> set[int | None]:
    return {status for where, (status, _) in report.answers[user.email].items()
            if where.startswith(f"{channel}:") and urlsplit(where.split(":", 1)[1]).path == path}


def assert_plan_pages(app: Flask, report: Report, scenario: Scenario, user: User, account: str) -> None:
    """Hold the walk's plan URLs to :data:`PLAN` for ``account``."""
    want, groups, paths = expectation(account), groups_of(scenario), plan_paths(scenario)
    plan = want.plan or frozenset()

    def markers(wanted: frozenset[str], *, concerns: bool = True) -> set[str]:
        return {m for m, g in groups.items() if g in wanted and (concerns or g not in CONCERNS)}

    pages = {("html", paths["plan"]): markers(plan), ("api", paths["api_plan"]): markers(plan)}
    if "plan_print.print_plan" in app.view_functions:
        pages[("html", paths["print"])] = markers(plan)
    if "plan_print.family_version" in app.view_functions:
        # The family version leaves the professionals' concerns out, even for the planter.
        pages[("html", paths["family"])] = markers(plan, concerns=False)
    if "plans.history" in app.view_functions:
        # Every change with its values as far as the plan is disclosed: the pieces, and the
        # history-only text (old values, the hand-over's reason, progress) with the plan's text.
        pages[("html", paths["history"])] = markers(plan) | (history_only(scenario) if "fields" in plan else set())
    for (channel, path), expected in pages.items():
        seen = seen_on(report, user, channel, path)
        assert seen == expected, (f"{channel} {path}: missing {_names(groups, expected - seen)}, "
                                  f"unexpected {_names(groups, seen - expected)}")
        answered = statuses(report, user, channel, path)
        if want.plan is not None:
            assert 200 in answered, (channel, path, answered)
        else:  # an account the API gives no token asks nothing there
            assert answered <= {403, 404} and (answered or channel == "api"), (channel, path, answered)
    for channel, key, wanted in (("html", "mine", want.mine), ("api", "api_mine", want.api_mine)):
        seen, expected = seen_on(report, user, channel, paths[key]), markers(wanted)
        assert seen == expected, (channel, key, sorted(seen - expected), sorted(expected - seen))


def history_only(scenario: Scenario) -> set[str]:
    return {m for m, p in scenario.markers.items() if p.piece in ("history", "progress")}


def _names(groups: dict[str, str], markers: set[str]) -> list[str]:
    return sorted(groups.get(m, "history") for m in markers)
