"""The chair's settings screen: the ladder's four levels and the nine stagnation rules of an
overleg, changed through forms (each change audited), with bad input refused in Dutch."""

from __future__ import annotations

from sqlalchemy import func, select

from escalation import ladder
from netwerk.db import db
from privacy.models import AuditEntry
from tests.conftest import post_form
from tests.escalation.conftest import World
from tests.escalation.test_views import client_for
from tests.helpers import html


def _entries() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


def test_the_chair_sets_the_ladder_and_the_rules_and_bad_input_changes_nothing(app, world: World):
    page = f"/overleggen/{world.overleg.id}/opschalingsladder"
    chair = client_for(app, world.chair)
    shown = html(chair.get(page))
    assert shown.count('id="niveau-') >= 4 and "Signaleringsregels" in shown and "Niveau opslaan" in shown
    assert f'href="{page}"' in html(chair.get(f"/overleggen/{world.overleg.id}"))
    level = {"niveau-1-name": "Teamleider van de partner", "niveau-1-recipient_role": "leidinggevende",
             "niveau-1-recipient_scope": "stuck_partner", "niveau-1-recipient_organisation_id": "",
             "niveau-1-deadline_working_days": "15"}

    before = _entries()
    for bad, message in ((dict(level) | {"niveau-1-deadline_working_days": "0"}, "1 tot en met 120 werkdagen"),
                         (dict(level) | {"niveau-1-deadline_working_days": "veel"}, "niveau-1-deadline_working_days"),
                         (dict(level) | {"niveau-1-recipient_scope": "organisation"}, "Kies de organisatie"),
                         (dict(level) | {"niveau-1-recipient_role": "beheerder"}, "niveau-1-recipient_role"),
                         (dict(level) | {"extra": "x"}, "onbekende velden")):
        response = post_form(chair, f"{page}/niveau/1", bad, token_from=page)
        assert response.status_code == 422 and message in html(response), bad
    db.session.expire_all()
    assert ladder.level_of(world.overleg.id, 1).deadline_working_days == 10 and _entries() == before

    assert post_form(chair, f"{page}/niveau/1", level, token_from=page).status_code == 302
    db.session.expire_all()
    changed = ladder.level_of(world.overleg.id, 1)
    assert (changed.name, changed.deadline_working_days) == ("Teamleider van de partner", 15)

    rule = {"regel-action_overdue-enabled": "", "regel-action_overdue-days": "21"}
    bad = post_form(chair, f"{page}/regel/action_overdue", rule | {"regel-action_overdue-days": "-3"}, token_from=page)
    assert bad.status_code == 422 and "0 tot en met 365" in html(bad)
    rule.pop("regel-action_overdue-enabled")  # an unticked box is not sent: the rule goes off
    assert post_form(chair, f"{page}/regel/action_overdue", rule, token_from=page).status_code == 302
    db.session.expire_all()
    stored = ladder.rules_of(world.overleg.id)["action_overdue"]
    assert (stored.enabled, stored.params) == (False, {"days": 21})
    assert "meer dan 21 dagen" in html(chair.get(page))
    actions = set(db.session.scalars(select(AuditEntry.action).where(AuditEntry.seq > before)))
    assert {"escalation.ladder_changed", "escalation.rule_changed"} <= actions

    assert post_form(chair, f"{page}/niveau/7", level, token_from=page).status_code == 404
    assert post_form(chair, f"{page}/regel/onbekend", rule, token_from=page).status_code == 404
    secretary = client_for(app, world.secretary)  # sees the settings, may not change them
    assert "Alleen de voorzitter" in html(secretary.get(page))
    refused = post_form(secretary, f"{page}/niveau/1", level | {"niveau-1-deadline_working_days": "5"},
                        token_from=page)
    assert refused.status_code == 422 and "Alleen de voorzitter" in html(refused)
    for outsider in (world.coordinator, world.team_leader):
        assert client_for(app, outsider).get(page).status_code in (403, 404)
