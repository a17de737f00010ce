"""The nine evaluators: each walks the households of one overleg in memory over the
loaded :class:`~escalation.rules.facts.Facts` and returns its :class:`Firing` rows. No
evaluator queries the database. An explanation carries numbers, never a text."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from escalation.ladder import RULE_DEFAULTS, explain
from escalation.rules.facts import ABSENT, ADOPTED, Facts, Held, Line

EXPLANATION_LIMIT = 400
MAX_BLOCKED = 50  # operations.propose takes at most this many blocked actions


# --- what a firing carries ----------------------------------------------------------------

@dataclass(frozen=True)
class Firing:
    rule_code: str
    household_id: uuid.UUID
    explanation: str
    blocked_action_ids: tuple[str, ...] = ()
    stuck_organisation_id: uuid.UUID | None = None


# --- the evaluators -------------------------------------------------------------------------

@dataclass(frozen=True)
class Context:
    """One overleg's view for the evaluators: its id, organisation and households."""

    overleg_id: uuid.UUID
    organisation_id: uuid.UUID | None
    households: frozenset[uuid.UUID]
    facts: Facts
    # (household, rule) pairs not to evaluate: a proposal is open already (the scan knows)
    skip: frozenset[tuple[uuid.UUID, str]] = frozenset()

    @property
    def today(self) -> date:
        return self.facts.today

    def todo(self, code: str) -> Iterable[uuid.UUID]:
        """The households ``code`` is evaluated for."""
        if not self.skip:
            return self.households
        return [h for h in self.households if (h, code) not in self.skip]


Evaluator = Callable[[Context, dict[str, int], str], list[Firing]]


def _param(params: dict[str, int], code: str, name: str) -> int:
    value = params.get(name, RULE_DEFAULTS[code].params.get(name, 0))
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return RULE_DEFAULTS[code].params.get(name, 0)


def _explain(base: str, detail: str) -> str:
    text = f"{base} {detail}".strip()
    return text if len(text) <= EXPLANATION_LIMIT else text[: EXPLANATION_LIMIT - 1] + "…"


def _stuck(lines: Iterable[Line], fallback: uuid.UUID | None) -> uuid.UUID | None:
    """The organisation owning most of the blocked actions (the coordinator's for informal owners)."""
    counts = Counter(line.owner_org_id for line in lines for _ in line.action_ids if line.owner_org_id)
    return counts.most_common(1)[0][0] if counts else fallback


def _line_firing(ctx: Context, code: str, base: str, family_id: uuid.UUID, fired: list[Line],
                 detail: str) -> Firing:
    plan = ctx.facts.plans.get(family_id)
    ids = tuple(sorted(str(a) for line in fired for a in line.action_ids))[:MAX_BLOCKED]
    return Firing(code, family_id, _explain(base, detail), ids,
                  _stuck(fired, plan.coordinator_org_id if plan else None))


def _held(ctx: Context, family_id: uuid.UUID) -> list[Held]:
    return [h for h in ctx.facts.agendas.get(ctx.overleg_id, {}).get(family_id, []) if h.held]


def action_overdue(ctx: Context, params: dict[str, int], base: str) -> list[Firing]:
    days = _param(params, "action_overdue", "days")
    out = []
    for family_id in ctx.todo("action_overdue"):
        fired = [line for line in ctx.facts.lines.get(family_id, ()) if (ctx.today - line.first_due).days > days]
        if fired:
            worst = max((ctx.today - line.first_due).days for line in fired)
            out.append(_line_firing(ctx, "action_overdue", base, family_id, fired,
                                    f"Nu: {_count(fired)}, tot {worst} dagen over de datum."))
    return out


def action_carried_over(ctx: Context, params: dict[str, int], base: str) -> list[Firing]:
    """Open across ``meetings`` or more held meetings of the household with no progress
    note on the line since before the first of them (a pushed date or a re-created action
    is no change)."""
    meetings = max(_param(params, "action_carried_over", "meetings"), 1)
    out = []
    for family_id in ctx.todo("action_carried_over"):
        held = _held(ctx, family_id)
        fired, most = [], 0
        for line in ctx.facts.lines.get(family_id, ()):
            changed = max(line.since, line.last_note) if line.last_note else line.since
            n = sum(1 for h in held if h.day > changed)
            if n >= meetings:
                fired.append(line)
                most = max(most, n)
        if fired:
            out.append(_line_firing(ctx, "action_carried_over", base, family_id, fired,
                                    f"Nu: {_count(fired)}, {most} overleggen zonder voortgang."))
    return out


def recurring_on_agenda(ctx: Context, params: dict[str, int], base: str) -> list[Firing]:
    """On each of the overleg's last ``agendas`` agendas (consecutive meetings with items,
    up to today) with no action completed with its criterion since the first of them."""
    agendas = max(_param(params, "recurring_on_agenda", "agendas"), 1)
    days = ctx.facts.agenda_days.get(ctx.overleg_id, [])
    if len(days) < agendas:
        return []
    window = days[-agendas:]
    wanted, first = {mid for _, mid in window}, window[0][0]
    out = []
    for family_id in ctx.todo("recurring_on_agenda"):
        mine = {h.meeting_id for h in ctx.facts.agendas[ctx.overleg_id].get(family_id, [])}
        if not wanted <= mine:
            continue
        done = ctx.facts.completed.get(family_id)
        if done is not None and done >= first:
            continue
        plan = ctx.facts.plans.get(family_id)
        streak = _streak(days, mine)
        out.append(Firing("recurring_on_agenda", family_id,
                          _explain(base, f"Nu: {streak} agenda's achter elkaar, sinds {first.isoformat()}."),
                          (), plan.coordinator_org_id if plan else ctx.organisation_id))
    return out


def _streak(days: list[tuple[date, uuid.UUID]], mine: set[uuid.UUID]) -> int:
    n = 0
    for _, mid in reversed(days):
        if mid not in mine:
            break
        n += 1
    return n


def owner_silent(ctx: Context, params: dict[str, int], base: str) -> list[Firing]:
    """The owner wrote no progress since the household's last held meeting, and the
    overleg has met ``meetings`` time(s) since (the next meeting came with nothing new)."""
    meetings = max(_param(params, "owner_silent", "meetings"), 1)
    all_days = ctx.facts.meeting_days.get(ctx.overleg_id, [])
    out = []
    for family_id in ctx.todo("owner_silent"):
        held = _held(ctx, family_id)
        if not held:
            continue
        last = held[-1].day
        since = sum(1 for d in all_days if d > last)
        if since < meetings:
            continue
        fired = [line for line in ctx.facts.lines.get(family_id, ())
                 if line.since <= last and (line.last_owner_note is None or line.last_owner_note <= last)]
        if fired:
            silent = (ctx.today - last).days
            out.append(_line_firing(ctx, "owner_silent", base, family_id, fired,
                                    f"Nu: {_count(fired)}, {silent} dagen zonder voortgang van de eigenaar."))
    return out


def match_unacknowledged(ctx: Context, params: dict[str, int], base: str) -> list[Firing]:
    days = _param(params, "match_unacknowledged", "days")
    out = []
    for family_id in ctx.todo("match_unacknowledged"):
        late = [(ctx.today - made).days for made in ctx.facts.matches.get(family_id, ())
                if (ctx.today - made).days >= days]
        if late:
            plan = ctx.facts.plans.get(family_id)
            out.append(Firing("match_unacknowledged", family_id,
                              _explain(base, f"Nu: {len(late)} match(es), de oudste {max(late)} dagen open."),
                              (), plan.coordinator_org_id if plan else None))
    return out


def coordinator_absent(ctx: Context, params: dict[str, int], base: str) -> list[Firing]:
    """Absent (or excused) at the household's last ``times`` held meetings, in its section."""
    times = max(_param(params, "coordinator_absent", "times"), 1)
    out = []
    for family_id in ctx.todo("coordinator_absent"):
        plan = ctx.facts.plans.get(family_id)
        if plan is None or plan.coordinator_user_id is None:
            continue
        last = _held(ctx, family_id)[-times:]
        if len(last) == times and all(ctx.facts.attendance.get((h.meeting_id, family_id)) in ABSENT for h in last):
            out.append(Firing("coordinator_absent", family_id,
                              _explain(base, f"Nu: {times} keer afwezig, het laatst op {last[-1].day.isoformat()}."),
                              (), plan.coordinator_org_id))
    return out


def due_date_pushed(ctx: Context, params: dict[str, int], base: str) -> list[Firing]:
    times = _param(params, "due_date_pushed", "times")
    out = []
    for family_id in ctx.todo("due_date_pushed"):
        fired = [line for line in ctx.facts.lines.get(family_id, ()) if line.pushes > times]
        if fired:
            most = max(line.pushes for line in fired)
            out.append(_line_firing(ctx, "due_date_pushed", base, family_id, fired,
                                    f"Nu: {_count(fired)}, tot {most} keer verschoven."))
    return out


def plan_evaluation_passed(ctx: Context, params: dict[str, int], base: str) -> list[Firing]:
    days = _param(params, "plan_evaluation_passed", "days")
    out = []
    for family_id in ctx.todo("plan_evaluation_passed"):
        plan = ctx.facts.plans.get(family_id)
        if plan is None or plan.status not in ADOPTED or plan.next_evaluation is None:
            continue
        late = (ctx.today - plan.next_evaluation).days
        if late > days:
            out.append(Firing("plan_evaluation_passed", family_id,
                              _explain(base, f"Nu: {late} dagen na de evaluatiedatum."), (), plan.coordinator_org_id))
    return out


def letter_or_consent_pending(ctx: Context, params: dict[str, int], base: str) -> list[Firing]:
    """A letter not sent (or informing deferred past its review date), or an action still
    waiting for the family's agreement, for more than ``days`` days."""
    days = _param(params, "letter_or_consent_pending", "days")
    out = []
    for family_id in ctx.todo("letter_or_consent_pending"):
        parts, stuck = [], ctx.organisation_id
        letter = ctx.facts.letters.get((ctx.overleg_id, family_id))
        if letter is not None and (ctx.today - letter).days > days:
            parts.append(f"brief {(ctx.today - letter).days} dagen")
        waiting = [line for line in ctx.facts.lines.get(family_id, ())
                   if line.unagreed_since is not None and (ctx.today - line.unagreed_since).days > days]
        blocked: tuple[str, ...] = ()
        if waiting:
            oldest = max((ctx.today - line.unagreed_since).days for line in waiting)  # type: ignore[operator]
            parts.append(f"instemming voor {_count(waiting)}, tot {oldest} dagen")
            blocked = tuple(sorted(str(a) for line in waiting for a in line.action_ids))[:MAX_BLOCKED]
            plan = ctx.facts.plans.get(family_id)
            stuck = plan.coordinator_org_id if plan and plan.coordinator_org_id else stuck
        if parts:
            out.append(Firing("letter_or_consent_pending", family_id,
                              _explain(base, "Nu: " + "; ".join(parts) + "."), blocked, stuck))
    return out


def _count(lines: list[Line]) -> str:
    n = sum(len(line.action_ids) for line in lines)
    return "1 actie" if n == 1 else f"{n} acties"


EVALUATORS: dict[str, Evaluator] = {
    "action_overdue": action_overdue,
    "action_carried_over": action_carried_over,
    "recurring_on_agenda": recurring_on_agenda,
    "owner_silent": owner_silent,
    "match_unacknowledged": match_unacknowledged,
    "coordinator_absent": coordinator_absent,
    "due_date_pushed": due_date_pushed,
    "plan_evaluation_passed": plan_evaluation_passed,
    "letter_or_consent_pending": letter_or_consent_pending,
}


def evaluate(code: str, ctx: Context, params: dict[str, int] | None, explanation: str | None) -> list[Firing]:
    """Run one rule over an overleg's households; ``explanation`` is the rule row's template."""
    base = explain(code, explanation, params or {})
    return EVALUATORS[code](ctx, params or {}, base)
