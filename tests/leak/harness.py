"""The leak-test harness: plant unique marker strings in notes, walk every channel as
every user, and prove that no marker reaches anyone the covenant does not allow — and that
every marker that does appear has the audit entry of the read that disclosed it.

How it works
============

1. **Plant.** :func:`plant_notes` writes one note per covenant category through the real
   operation (``ops.add_note``); each note's text carries a marker
   ``LEAK-<category>-<32 hex>``. The returned registry maps marker -> :class:`Planted`
   (note id, person id, category, owner organisation). A household's plan is planted the
   same way, piece by piece (``tests/leak/plan_scenario.py``): each :class:`Planted` then
   names the plan (and action) and the (category, owner) group ``plan_content`` reads it in.
2. **Collect.** :func:`run` logs in as each user and asks every registered channel for what
   that user can reach: an iterable of :class:`Exposure` (location, text, and — for
   request-driven channels — the audit window of the request that produced the text).
3. **Check.** :func:`check` looks for markers in every exposure. A marker is legitimate only
   if (a) the channel may carry content at all, (b) an audit entry ``content.read`` with
   outcome ``allowed`` exists for that user *within the window of the request that showed
   it*, naming the note id in ``meta.notes`` (a plan piece: the plan as object, or its
   action in ``meta.actions``) with the piece's category and subject, and (c) replaying
   that entry's purpose through ``privacy.policy.evaluate`` (the gate without its audit
   side effect; for a plan piece about every household member) allows it, where the
   purpose is one the user actually has for that person or household (a context from
   ``netwerk.access.purposes_for`` / ``family_purposes``: a match, the plan, a claimed
   noodtoegang, ...) or the content is the user's own organisation's. Anything else is a
   :class:`Leak`. A 5xx answer, or a GET that logs the walk out, is reported too
   (:meth:`Report.assert_clean`).

The channels
============

* ``html`` — logs in through the login form (second factor via ``tests.helpers.fresh_code``),
  walks breadth-first from "/" (at most :data:`MAX_PAGES` pages) along same-origin
  ``<a href>`` links, redirects and GET forms (the default submission, each option of a
  short select, each search term in a text field), then probes every GET route of
  ``app.url_map`` with its parameters filled from :attr:`Scenario.ids` — so pages this user
  is never linked to are asked for too. A person page is asked for with every covenant
  purpose as ``?doel=`` (when the page itself answers 200), and so is a household's plan;
  other pages with ``?doel=`` when they name the parameter. :attr:`Scenario.seeds` are
  asked for first, linked or not, with every purpose. The decoded session cookie is
  scanned with each page.
  Never requested: ``/uitloggen``, ``/static/``, ``/api/`` (the api channel's) and
  :data:`NEVER_PROBED`.
* ``api`` — a bearer token from ``POST /api/v1/auth/token`` (with ``otp`` when the account
  has two-factor), then every GET of ``netwerk.api.ENDPOINTS`` and any other GET route
  under ``/api/``; path parameters from the ids, each purpose where the endpoint's query
  model has ``purpose``, each search term where it has ``q``.
* ``mail`` (every outbox mail), ``audit`` (every audit entry) and ``log`` (every record of
  the application's loggers, at DEBUG, during the run): these never carry content.
* the meetings' channels (``tests/leak/channels_meetings.py``, walked by
  ``test_meeting_leak.py`` over the meetings ``scenario.build_meetings`` sets up):
  ``projector`` and ``stream`` (with replay from ``Last-Event-ID``) and ``letters`` never
  carry content; ``besluitenlijst`` (page and PDF) carries what the gate allows, audited
  per request.

A search box that echoes the marker the harness typed is not a leak: markers sent in the
request's own query string are blanked before scanning (nothing else is).

Adding a channel
================

Register a function ``(app, user, scenario) -> Iterable[Exposure | tuple[str, str]]``::

    from tests.leak.harness import Exposure, audit_window, channel

    @channel("projector")
    def projector(app, user, scenario):
        client = scenario.login(app, user)          # logged-in test client (2FA handled)
        for meeting_id in scenario.ids.get("meeting_id", []):
            with audit_window() as window:
                response = client.get(f"/overleg/{meeting_id}/projector")
            yield Exposure(f"/overleg/{meeting_id}/projector", response.get_data(as_text=True),
                           window.range)

* Import the module that registers it from ``tests/leak/channels_<name>.py`` (or anywhere
  that :mod:`tests.leak.test_leak` imports) — registration happens at import.
* Pass ``carries_content=False`` for a channel that must never carry content (e-mail, logs,
  the audit log, event-stream payloads): any marker there is a leak, audited or not.
* Pass ``per_user=False`` for a channel that is not seen *as* a user (the outbox, the log):
  it runs once per :func:`run`, after the per-user channels, with ``user=None``.
* Wrap every request in :func:`audit_window` and pass ``window.range``: a marker is then
  only accepted with an audit entry written by *that* request. Without a window any
  allowed entry of the user counts, which is weaker — use it only where no request exists.
* New URL parameters (``meeting_id``, ``plan_id``) resolve generically: a parameter
  ``<table>_id`` takes the ids of that table; add aliases to :data:`PARAM_ALIASES`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from html.parser import HTMLParser
from itertools import islice, product
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import PendingRollbackError

from netwerk import access
from netwerk import operations as ops
from netwerk.db import db, utcnow
from netwerk.models import (
    Family,
    FamilyMember,
    Involvement,
    Match,
    Note,
    Organisation,
    OutboxMail,
    Person,
    Plan,
    PlanAction,
    PlanGoal,
    User,
)
from netwerk.operations.families import subject_of
from privacy.audit import Actor, blind
from privacy.models import AuditEntry, Consent, CovenantVersion
from privacy.policy import evaluate
from tests.conftest import login, post_form
from tests.helpers import fresh_code, path_of, pdf_text

MARKER_RE = re.compile(r"LEAK-([a-z_]+)-([0-9a-f]{32})", re.IGNORECASE)
# A shortened preview ("LEAK-zorgen-3f2a9c01…") still gives itself away by its first hex.
PREFIX_LEN = 12
MAX_PAGES = 150  # breadth-first pages per user, on top of the probes of every route
# Values tried per URL parameter: every id that hangs off the scenario's persons, plus this
# many others (their pages are probed for shape, not for markers: markers live elsewhere).
OTHER_VALUES = 1
MAX_COMBINATIONS = 64  # per route with several parameters
MAX_OPTIONS = 6  # a select with more options is a picker: only its default is submitted
MAX_FORM_VARIANTS = 24
APP_LOGGERS = ("netwerk", "privacy", "meetings", "escalation", "config")


# --- planting ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Planted:
    """Where a marker was planted. A note has ``note_id`` and ``person_id``; a piece of a
    household's plan (1gezin1plan) has ``plan_id`` and ``family_id`` instead, and
    ``action_id`` when it belongs to an action. ``category`` and ``owner_org_id`` are what
    the gate decides on: for a plan piece, the (category, owner) group ``plan_content``
    reads it in. ``shown_on``: the channels meant to show it (to whoever the gate allows):
    a complete walk of such a channel must find it. Elsewhere it may still appear, but only
    with the audited disclosure of its group, like anything else."""

    note_id: uuid.UUID | None
    person_id: uuid.UUID | None
    category: str
    owner_org_id: uuid.UUID
    piece: str = "note"  # or the plan piece: plan, goal, concern, network, action, progress, history
    plan_id: uuid.UUID | None = None
    family_id: uuid.UUID | None = None
    action_id: uuid.UUID | None = None
    shown_on: tuple[str, ...] = ("html", "api")

    def audit_keys(self) -> list[str]:
        """The ids an audit entry names when it discloses this piece (see :func:`vouches_for`)."""
        if self.plan_id is None:
            return [str(self.note_id)]
        return [str(self.plan_id)] + ([str(self.action_id)] if self.action_id else [])


def new_marker(category: str) -> str:
    return f"LEAK-{category}-{uuid.uuid4().hex}"


def plant_notes(person: Person, author: User, categories: Iterable[str], actor: Actor,
                today: date) -> dict[str, Planted]:
    """One note per category about ``person`` by ``author``'s organisation; returns the
    marker registry {marker: Planted}. The text repeats the marker between ordinary words
    so that both a full rendering and a preview give it away."""
    planted = {}
    for category in categories:
        marker = new_marker(category)
        note = ops.add_note(person, author, category, f"{marker} — notitie voor de lektest. {marker}", actor, today)
        planted[marker] = Planted(note.id, person.id, category, author.organisation_id)
    return planted


# --- what channels return ------------------------------------------------------------------

@dataclass(frozen=True)
class Exposure:
    location: str
    text: str
    window: tuple[int, int] | None = None  # audit seq range (after, upto] of the request
    status: int | None = None
    mimetype: str | None = None
    redirect: str | None = None
    relogged: bool = False  # the request had logged the walk out; this is the retry


@dataclass(frozen=True)
class Channel:
    name: str
    collect: Callable[..., Iterable[Exposure | tuple[str, str]]]
    carries_content: bool = True
    per_user: bool = True


CHANNELS: dict[str, Channel] = {}


def channel(name: str, *, carries_content: bool = True, per_user: bool = True) -> Callable:
    """Register a channel (see the module docstring)."""

    def register(fn: Callable[..., Iterable[Exposure | tuple[str, str]]]) -> Callable:
        CHANNELS[name] = Channel(name, fn, carries_content, per_user)
        return fn

    return register


class AuditWindow:
    def __init__(self) -> None:
        self.start = self.end = 0

    @property
    def range(self) -> tuple[int, int]:
        return self.start, self.end


def audit_seq() -> int:
    return db.session.scalar(select(func.coalesce(func.max(AuditEntry.seq), 0))) or 0


@contextlib.contextmanager
def audit_window() -> Iterator[AuditWindow]:
    """The audit entries written while the block runs: seq in (start, end]."""
    window = AuditWindow()
    window.start = audit_seq()
    try:
        yield window
    finally:
        try:
            window.end = audit_seq()
        except PendingRollbackError:  # a view that failed left the shared session dirty
            db.session.rollback()
            window.end = audit_seq()


# --- the scenario the channels walk --------------------------------------------------------

PARAM_ALIASES = {
    "org_id": "organisation", "organisation_id": "organisation", "covenant_id": "covenant_version",
    "action_id": "plan_action", "goal_id": "plan_goal", "item_id": "agenda_item", "letter_id": "family_letter",
    "request_id": "rights_request", "task_id": "rectification_task", "flag_id": "review_flag",
    "run_id": "retention_run",
    "id": None,  # resolved from the path segment before it, see _param_key
}
NO_SUCH_UUID = uuid.UUID("00000000-0000-4000-8000-00000000dead")
NO_SUCH_INT = 999_999_999
SEGMENT_PARAMS = {
    "personen": "person_id", "persons": "person_id", "gezinnen": "family_id", "families": "family_id",
    "matches": "match_id", "notities": "note_id", "notes": "note_id", "organisaties": "org_id",
    "organisations": "org_id", "gebruikers": "user_id", "users": "user_id", "betrokkenheid": "involvement_id",
    "involvements": "involvement_id", "convenant": "covenant_id", "instemming": "consent_id",
}


@dataclass
class Scenario:
    """What the harness needs to know about the world it walks."""

    markers: dict[str, Planted]
    password: str
    purposes: list[str]
    categories: list[str]
    ids: dict[str, list[str]] = field(default_factory=dict)  # URL parameter -> values, relevant first
    search_terms: list[str] = field(default_factory=list)
    # Pages every user's walk asks for, linked or not, each also with every purpose as
    # ?doel= once it answers 200 (pages that may not be in the URL map yet, e.g.)
    seeds: list[str] = field(default_factory=list)
    planter_org_id: uuid.UUID | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # free-form, for scenario-specific channels
    log_records: list[logging.LogRecord] = field(default_factory=list)  # of the current run()

    def values(self, name: str, segment: str | None = None) -> list[str] | None:
        key = _param_key(name, segment)
        if key is None:
            return None
        if key in self.ids:
            return self.ids[key]
        table = PARAM_ALIASES.get(key) or key.removesuffix("_id")
        if table in db.metadata.tables and "id" in db.metadata.tables[table].c:
            t = db.metadata.tables[table]
            found = [str(v) for v in db.session.scalars(select(t.c.id).limit(OTHER_VALUES))]
            # An empty table (the scenario makes no such rows): a made-up id of the right type,
            # so the route is still asked and must open nothing.
            return found or [str(NO_SUCH_INT if _int_ids(t) else NO_SUCH_UUID)]
        return None

    def login(self, app: Flask, user: User) -> FlaskClient:
        """A test client logged in as ``user`` (second factor answered)."""
        client = app.test_client()
        response = login(client, user.email, self.password)
        if response.status_code == 302 and path_of(response) == "/inloggen/code":
            response = post_form(client, "/inloggen/code", {"code": fresh_code(user)})
        if response.status_code != 302:
            raise HarnessError(f"login as {user.email} failed with {response.status_code}")
        return client


def _int_ids(table: Any) -> bool:
    try:
        return table.c.id.type.python_type is int
    except NotImplementedError:  # a custom column type that does not say
        return False


def _param_key(name: str, segment: str | None) -> str | None:
    if name == "id" or name == "<id>":
        return SEGMENT_PARAMS.get(segment or "")
    return name


class HarnessError(AssertionError):
    pass


def collect_ids(person_ids: list[uuid.UUID] | None = None) -> dict[str, list[str]]:
    """Ids for URL parameters: the scenario's persons (and what hangs off them) first, then
    the rest of the database, so a bounded probe still covers everything planted."""
    first = {str(p) for p in person_ids or []}

    def ordered(values: Iterable[Any], relevant: set[str]) -> list[str]:
        others = sorted({str(v) for v in values} - relevant)
        return sorted(relevant) + others[:OTHER_VALUES]

    persons = ordered(db.session.scalars(select(Person.id)), first | {str(p) for p in db.session.scalars(
        select(FamilyMember.person_id).where(FamilyMember.family_id.in_(select(FamilyMember.family_id).where(
            FamilyMember.person_id.in_([uuid.UUID(p) for p in first])))))})
    families = set(str(f) for f in db.session.scalars(
        select(FamilyMember.family_id).where(FamilyMember.person_id.in_([uuid.UUID(p) for p in first]))))
    involvements = set(str(i) for i in db.session.scalars(
        select(Involvement.id).where(Involvement.person_id.in_([uuid.UUID(p) for p in first]))))
    matches = {str(m.id) for m in db.session.scalars(select(Match))
               if str(m.first_id) in involvements or str(m.second_id) in involvements}
    notes = {str(n) for n in db.session.scalars(select(Note.id).where(
        Note.person_id.in_([uuid.UUID(p) for p in first])))}
    plans = select(Plan.id).where(Plan.family_id.in_([uuid.UUID(f) for f in families]))
    actions = {str(a) for a in db.session.scalars(select(PlanAction.id).where(PlanAction.plan_id.in_(plans)))}
    goals = {str(g) for g in db.session.scalars(select(PlanGoal.id).where(PlanGoal.plan_id.in_(plans)))}
    return {
        "person_id": persons,
        "family_id": ordered(db.session.scalars(select(Family.id)), families),
        "involvement_id": ordered(db.session.scalars(select(Involvement.id)), involvements),
        "match_id": ordered(db.session.scalars(select(Match.id)), matches),
        "note_id": ordered(db.session.scalars(select(Note.id)), notes),
        "action_id": ordered(db.session.scalars(select(PlanAction.id)), actions),
        "goal_id": ordered(db.session.scalars(select(PlanGoal.id)), goals),
        "org_id": ordered(db.session.scalars(select(Organisation.id)), set()),
        "organisation_id": ordered(db.session.scalars(select(Organisation.id)), set()),
        "user_id": ordered(db.session.scalars(select(User.id)), set()),
        "covenant_id": ordered(db.session.scalars(select(CovenantVersion.id)), set()),
        "consent_id": ordered(db.session.scalars(select(Consent.id)), set()),
        # A secret in the URL (a calendar feed's): a made-up one, which must open nothing.
        "token": ["lektest-onbekend-token"],
    }


# --- running -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    channel: str
    user_id: uuid.UUID | None
    user: str  # e-mail, for messages
    location: str
    marker: str
    window: tuple[int, int] | None


@dataclass(frozen=True)
class Leak:
    finding: Finding
    reason: str

    def __str__(self) -> str:
        f = self.finding
        return f"[{f.channel}] {f.user} at {f.location}: {f.marker} — {self.reason}"


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    leaks: list[Leak] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # 5xx answers (rule 6 says never), lost sessions
    exposures: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # user e-mail -> "channel:location" -> (status, redirect target): what the walk reached
    answers: dict[str, dict[str, tuple[int | None, str | None]]] = field(default_factory=lambda: defaultdict(dict))

    def seen(self, user: User | None = None, channel_name: str | None = None) -> set[str]:
        return {f.marker for f in self.findings if (user is None or f.user_id == user.id)
                and (channel_name is None or f.channel == channel_name)}

    def assert_clean(self) -> None:
        problems = [str(leak) for leak in self.leaks] + [f"walk problem: {e}" for e in self.errors]
        if problems:
            shown = "\n  ".join(problems[:60])
            more = f"\n  … and {len(problems) - 60} more" if len(problems) > 60 else ""
            raise AssertionError(f"{len(self.leaks)} leak(s), {len(self.errors)} other problem(s):\n  {shown}{more}")


class _Capture(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def run(app: Flask, scenario: Scenario, users: Iterable[User], channels: Iterable[str] | None = None) -> Report:
    """Collect every exposure of every channel for every user, then :func:`check`."""
    names = list(channels) if channels is not None else list(CHANNELS)
    unknown = set(names) - set(CHANNELS)
    if unknown:
        raise HarnessError(f"unknown channels: {sorted(unknown)}")
    report = Report()
    scenario.log_records.clear()
    handler = _Capture(scenario.log_records)
    root = logging.getLogger()
    # Our own code logs at every level; libraries at what they would log in production
    # (the root's level): SQLAlchemy at DEBUG would log every statement, and slowly.
    ours = [logging.getLogger(name) for name in APP_LOGGERS]
    saved = [logger.level for logger in ours]
    root.addHandler(handler)
    for logger in ours:
        logger.setLevel(logging.DEBUG)
    try:
        for user in users:
            for name in names:
                if CHANNELS[name].per_user:
                    _gather(app, scenario, CHANNELS[name], user, report)
        for name in sorted((n for n in names if not CHANNELS[n].per_user), key=lambda n: n == "log"):
            _gather(app, scenario, CHANNELS[name], None, report)
    finally:
        root.removeHandler(handler)
        for logger, level in zip(ours, saved, strict=True):
            logger.setLevel(level)
    report.leaks = check(scenario, report.findings)
    return report


def _gather(app: Flask, scenario: Scenario, chan: Channel, user: User | None, report: Report) -> None:
    who = user.email if user is not None else "(no user)"
    for item in chan.collect(app, user, scenario):
        exposure = item if isinstance(item, Exposure) else Exposure(*item)
        report.exposures[chan.name] += 1
        report.answers[who][f"{chan.name}:{exposure.location}"] = (exposure.status, exposure.redirect)
        if exposure.status is not None and exposure.status >= 500:
            report.errors.append(f"[{chan.name}] {who} at {exposure.location}: {exposure.status}")
        if exposure.relogged:
            report.errors.append(f"[{chan.name}] {who} was logged out by GET {exposure.location} (a GET must not "
                                 "end a session; if it must, add its endpoint to NEVER_PROBED)")
        for marker in find_markers(exposure.text, scenario.markers):
            report.findings.append(Finding(chan.name, user.id if user else None, who, exposure.location, marker,
                                           exposure.window))


def find_markers(text: str, markers: dict[str, Planted]) -> set[str]:
    """The planted markers ``text`` gives away, whole or as a preview of at least
    :data:`PREFIX_LEN` hex digits, in any letter case."""
    if not text or "leak-" not in text.lower():
        return set()
    found = set()
    lowered = text.lower()
    for marker in markers:
        if marker.lower()[: len(marker) - 32 + PREFIX_LEN] in lowered:
            found.add(marker)
    return found


# --- checking ------------------------------------------------------------------------------

def vouches_for(entry: AuditEntry) -> list[str]:
    """The ids an allowed ``content.read`` entry vouches for: the notes it lists
    (``meta.notes``), the plan it read (object type ``plan``: the plan page), the actions it
    lists (``meta.actions``), and, for a list view audited once per outcome
    (``privacy.policy.decide_many``: Mijn acties, the API's action lists), every plan in
    ``meta.objects``."""
    meta = entry.meta or {}
    ids = [str(i) for i in (*meta.get("notes", []), *meta.get("actions", []))]
    if entry.object_type == "plan":
        ids += [str(i) for i in meta.get("objects", [])]
        if entry.object_id:
            ids.append(entry.object_id)
    return ids


def check(scenario: Scenario, findings: list[Finding]) -> list[Leak]:
    """Every finding that is not a covenant-allowed, audited disclosure (see the module
    docstring for the rule)."""
    if not findings:
        return []
    user_ids = {f.user_id for f in findings if f.user_id is not None}
    entries: dict[tuple[uuid.UUID, str], list[AuditEntry]] = defaultdict(list)
    for entry in db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "content.read", AuditEntry.outcome == "allowed",
            AuditEntry.actor_user_id.in_(user_ids))):
        for key in vouches_for(entry):
            entries[(entry.actor_user_id, key)].append(entry)
    judge = _Judge({u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))})
    leaks = []
    for finding in findings:
        chan = CHANNELS.get(finding.channel)
        if chan is not None and not chan.carries_content:
            leaks.append(Leak(finding, f"the {finding.channel} channel must never carry content"))
            continue
        if finding.user_id is None:
            leaks.append(Leak(finding, "content outside any user's view"))
            continue
        planted = scenario.markers[finding.marker]
        vouching = {e.seq: e for key in planted.audit_keys() for e in entries[(finding.user_id, key)]}
        reason = judge.verdict(finding, planted, list(vouching.values()))
        if reason is not None:
            leaks.append(Leak(finding, reason))
    return leaks


def subjects_of(planted: Planted) -> list[str]:
    """Whom the content is about, as the gate names them: the person of a note; the
    household (first) and every member of it for a plan piece — consent is needed from
    each member, so the judge asks about all of them, not only those the entry names."""
    if planted.family_id is None:
        return [subject_of(db.session.get(Person, planted.person_id))]
    members = db.session.scalars(select(FamilyMember.person_id).where(FamilyMember.family_id == planted.family_id))
    return [blind("family", planted.family_id), *(blind("person", m) for m in members)]


def purposes_given(actor: Actor, planted: Planted, now: datetime) -> list[str] | None:
    """The purposes a context gives ``actor`` for the planted content, or None when the
    viewer's organisation may not even know of the person or household: for a note, the
    person's contexts; for a plan piece, the household's (``access.family_purposes`` over
    the members the organisation may see, as the plan page asks)."""
    if planted.family_id is None:
        if access.person_relation(actor.org_id, planted.person_id) is None:
            return None
        return [c.purpose for c in access.purposes_for(actor, planted.person_id, now)]
    members = db.session.scalars(select(FamilyMember.person_id).where(FamilyMember.family_id == planted.family_id))
    visible = sorted((m for m in members if access.person_relation(actor.org_id, m) is not None), key=str)
    if not visible:
        return None
    return [c.purpose for c in access.family_purposes(actor, visible, now)]


class _Judge:
    """Replays audit entries through the gate, remembering each (user, piece, purpose, role)
    answer: a person page shown in twenty variants is judged once per purpose."""

    def __init__(self, users: dict[uuid.UUID, User]) -> None:
        self.users = users
        self.answers: dict[tuple, str | None] = {}
        self.today, self.now = utcnow().date(), utcnow()

    def verdict(self, finding: Finding, planted: Planted, entries: list[AuditEntry]) -> str | None:
        """None when the appearance is justified; otherwise why not."""
        window = finding.window
        if window is not None:
            entries = [e for e in entries if window[0] < e.seq <= window[1]]
        if not entries:
            what = "this note" if planted.plan_id is None else f"this {planted.piece}'s plan or action"
            return (f"no allowed content.read audit entry naming {what} was written"
                    + (f" by this request (audit seq {window[0]}..{window[1]})" if window else ""))
        subject = subjects_of(planted)[0]
        named = [e for e in entries if planted.category in e.data_categories and subject in e.subject_ids]
        if not named:  # a plan is read in several (category, owner) groups: others do not count
            return f"the audit entries {[e.seq for e in entries]} name another category or subject"
        reasons = []
        for entry in named:
            key = (finding.user_id, planted, entry.purpose, entry.actor_role)
            if key not in self.answers:
                self.answers[key] = self._justify(self.users[finding.user_id], planted, entry)
            if self.answers[key] is None:
                return None
            reasons.append(f"audit entry {entry.seq}: {self.answers[key]}")
        return "; ".join(reasons)

    def _justify(self, user: User, planted: Planted, entry: AuditEntry) -> str | None:
        subjects = subjects_of(planted)
        actor = Actor(user_id=user.id, org_id=user.organisation_id, role=entry.actor_role, roles=user.roles)
        decision = evaluate(actor, subjects, planted.category, entry.purpose, self.today, planted.owner_org_id)
        if not decision.allowed:
            return f"purpose {entry.purpose!r}, but the covenant refuses: {decision.reason}"
        if planted.owner_org_id == user.organisation_id:
            return None
        given = purposes_given(actor, planted, self.now)
        if given is None:
            return "the viewer's organisation has no involvement with this person or household"
        if entry.purpose not in given:
            return (f"purpose {entry.purpose!r}, which no context gives this user "
                    f"(has: {sorted(given) or 'none'})")
        return None


def expected_markers(scenario: Scenario, user: User, channel: str | None = None) -> set[str]:
    """The markers the covenant lets ``user`` see through some purpose they have — what a
    complete walk of ``channel`` must find (the harness's own coverage check): those
    :attr:`Planted.shown_on` that channel. Without a channel: every marker the user may be
    shown anywhere."""
    role = access.work_role(user)
    if role is None:
        return set()
    actor = Actor(user_id=user.id, org_id=user.organisation_id, role=role, roles=user.roles)
    today, now = utcnow().date(), utcnow()
    found = set()
    purposes: dict[uuid.UUID | None, list[str] | None] = {}
    for marker, planted in scenario.markers.items():
        if channel is not None and channel not in planted.shown_on:
            continue
        about = planted.family_id or planted.person_id
        if about not in purposes:
            purposes[about] = purposes_given(actor, planted, now)
        if purposes[about] is None:
            continue
        subjects = subjects_of(planted)
        for purpose in purposes[about] or [None]:
            if evaluate(actor, subjects, planted.category, purpose, today, planted.owner_org_id).allowed:
                found.add(marker)
                break
    return found


# --- HTML ----------------------------------------------------------------------------------

class _Page(HTMLParser):
    """Links and GET forms of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._select: dict[str, Any] | None = None
        self._textarea: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = {"method": a.get("method", "get").lower(), "action": a.get("action", ""), "fields": []}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                self._form["fields"].append({"name": a["name"], "kind": kind, "value": None, "options": [a.get(
                    "value", "on")]})
            elif kind not in ("submit", "button", "image", "reset", "file"):
                self._form["fields"].append({"name": a["name"], "kind": kind, "value": a.get("value", ""),
                                             "options": []})
        elif tag == "select" and a.get("name"):
            self._select = {"name": a["name"], "kind": "select", "value": None, "options": []}
            self._form["fields"].append(self._select)
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self._select["options"].append(value)
            if "selected" in a or self._select["value"] is None:
                self._select["value"] = value
        elif tag == "textarea" and a.get("name"):
            self._textarea = {"name": a["name"], "kind": "textarea", "value": "", "options": []}
            self._form["fields"].append(self._textarea)

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea["value"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


SKIP_PATHS = ("/uitloggen", "/static/", "/api/")
# The second step of logging in: its GET throws away the session of a logged-in user (a
# defect: test_leak.test_opening_the_code_page_does_not_log_a_user_out), which would end
# the walk. It shows a code form and nothing else.
NEVER_PROBED: tuple[str, ...] = ()
MAX_RELOGINS = 3


def normalise(base: str, href: str) -> str | None:
    """A same-origin path with sorted query, or None for what the crawler leaves alone."""
    href = href.strip()
    if not href or href.startswith(("mailto:", "tel:", "javascript:", "data:", "#")):
        return None
    url = urlsplit(urljoin("http://netwerk.test" + base, href))
    if url.scheme not in ("http", "https") or url.netloc not in ("netwerk.test", "localhost"):
        return None
    if any(url.path == p or url.path.startswith(p) for p in SKIP_PATHS):
        return None
    query = urlencode(sorted(parse_qsl(url.query, keep_blank_values=True)))
    return url.path + (f"?{query}" if query else "")


def form_variants(form: dict[str, Any], terms: list[str]) -> list[dict[str, str]]:
    """The default submission of a GET form, each option of each select, each choice of
    each radio/checkbox (where there are at most :data:`MAX_OPTIONS`), and each search term
    in each free-text field."""
    fields = form["fields"]
    base = {f["name"]: f["value"] for f in fields if f["value"] is not None}
    variants = [base]
    for f in fields:
        if f["kind"] in ("select", "radio", "checkbox") and len(f["options"]) <= MAX_OPTIONS:
            # a short list switches a mode (a purpose); a long one picks a record, whose own
            # page the route probes reach anyway
            variants += [base | {f["name"]: option} for option in f["options"]]
        elif f["kind"] in ("text", "search", "textarea", "number"):
            variants += [base | {f["name"]: term} for term in terms]
    return variants[:MAX_FORM_VARIANTS]


UUID_OR_NUMBER = re.compile(r"/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d+)(?=/|$)")


def form_signature(action: str, form: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """The same form on another object's page (ids replaced): its variants are tried once
    per user, later copies only with their defaults — the probes give every object's page
    every purpose anyway."""
    return UUID_OR_NUMBER.sub("/{id}", urlsplit(action).path), tuple(sorted(f["name"] for f in form["fields"]))


def _text_of(response: Any, url: str, client: FlaskClient | None = None, app: Flask | None = None) -> str:
    """Headers, body and (for the browser) the session cookie, with the markers the request
    itself sent in its query string removed: a search box that echoes the marker the harness
    typed is not a leak."""
    parts = [f"{k}: {v}" for k, v in response.headers.items()]
    # A PDF (a letter to a family) is read as its text: content must not leave in it either.
    parts.append(pdf_text(response.get_data()) if response.mimetype == "application/pdf"
                 else response.get_data(as_text=True))
    if client is not None and app is not None:
        parts.append(_session_of(client, app))
    text = "\n".join(parts)
    for _, value in parse_qsl(urlsplit(url).query):
        if MARKER_RE.fullmatch(value):  # only markers: other echoes (a script typed) must show
            text = text.replace(value, "[query]")
    return text


def _session_of(client: FlaskClient, app: Flask) -> str:
    """The Flask session cookie decoded: content put there (a flash) would leave with it."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    if cookie is None:
        return ""
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    try:
        return json.dumps(serializer.loads(cookie.value), default=str)
    except Exception:  # a session cookie we cannot read shows up as missing content, not a crash
        return ""


def _get(app: Flask, client: FlaskClient, url: str, **kwargs: Any) -> tuple[Any, tuple[int, int]]:
    with audit_window() as window:
        response = client.get(url, **kwargs)
    return response, window.range


@dataclass(frozen=True)
class Probe:
    """A URL to request, and the variants (query strings) worth requesting only when the
    URL itself answered 200 — a purpose for a person the user cannot see changes nothing.
    ``if_advertised`` variants are requested only when the page names their parameter."""

    url: str
    variants: tuple[str, ...] = ()
    if_advertised: tuple[str, ...] = ()


def route_probes(app: Flask, scenario: Scenario, api: bool = False, query_name: str = "doel",
                 skip: Iterable[str] = (), skip_endpoints: Iterable[str] = ()) -> list[Probe]:
    """Every GET route of the URL map (those under /api/ when ``api``), parameters filled
    from the scenario's ids; the page of a person or household gets each covenant purpose
    as ``?doel=`` too. ``skip``: rules (in URL-map syntax) covered elsewhere."""
    probes: list[Probe] = []
    skip, skip_endpoints = set(skip), {"static", *skip_endpoints}
    with app.test_request_context():
        adapter = app.url_map.bind("netwerk.test")
        for rule in app.url_map.iter_rules():
            if "GET" not in (rule.methods or ()) or rule.endpoint in skip_endpoints or rule.rule in skip:
                continue
            if rule.rule.startswith("/api/") != api:
                continue
            choices = []
            for name in sorted(rule.arguments):
                values = scenario.purposes if name == "purpose" else scenario.values(
                    name, _segment_before(rule.rule, name))
                if values is None:
                    raise HarnessError(f"route {rule.rule}: no values for parameter {name!r} — add them to "
                                       "Scenario.ids or PARAM_ALIASES")
                choices.append([(name, v) for v in values])
            for combo in islice(product(*choices), MAX_COMBINATIONS):
                try:
                    url = adapter.build(rule.endpoint, dict(combo), method="GET")
                except Exception:  # a converter refuses the value (an int id for a uuid route)
                    continue
                variants = [f"{url}?{urlencode({query_name: p})}" for p in scenario.purposes]
                probes.append(Probe(url, tuple(variants) if _is_object_page(rule.rule) else (),
                                    () if _is_object_page(rule.rule) or _last_param(rule.rule) != "family_id"
                                    else tuple(variants)))
    return probes


# A household's plan. Its other pages (printable versions, history, one action or goal)
# render the same reading (``read_plan``): they get the purposes they offer in their own
# form, and the scenario's seeds ask for the printable ones with every purpose — every
# purpose on each of them would cost a walk seconds and find nothing the plan page's don't.
PLAN_PAGE = re.compile(r"^/gezinnen/<(?:[^:>]+:)?family_id>/plan$")


def _is_object_page(rule: str) -> bool:
    """The page of one person (``/personen/<person_id>``) or of a household's plan, where a
    purpose selects what content is read — probed with every purpose, linked or not (a
    plan page offers only the purposes the context gives; the others must show nothing).
    Other pages get a purpose when they advertise the parameter themselves (see
    :func:`_advertises`)."""
    return _last_param(rule) == "person_id" or PLAN_PAGE.match(rule) is not None


def _last_param(rule: str) -> str:
    return rule.rstrip("/").rsplit("/", 1)[-1].strip("<>{}").split(":")[-1]


def _advertises(page: Exposure, name: str) -> bool:
    """Whether a page links or submits ``name`` as a query parameter itself."""
    return f'name="{name}"' in page.text or f"?{name}=" in page.text or f"&amp;{name}=" in page.text


def _segment_before(rule: str, name: str) -> str | None:
    parts = [p for p in rule.split("/") if p]
    for i, part in enumerate(parts):
        if part.strip("<>").split(":")[-1] == name:
            return parts[i - 1] if i else None
    return None


class _Browser:
    """A logged-in test client that logs in again when a page logged it out (a GET that
    clears the session), so one such page cannot blind the rest of the walk."""

    def __init__(self, app: Flask, user: User, scenario: Scenario) -> None:
        self.app, self.user, self.scenario = app, user, scenario
        self.client = scenario.login(app, user)
        self.relogins = 0
        with app.test_request_context():
            self.login_path = url_for(app.login_manager.login_view)  # type: ignore[attr-defined]

    def get(self, url: str) -> Exposure:
        response, window = _get(self.app, self.client, url)
        if response.status_code in (302, 303) and urlsplit(response.headers.get("Location", "")).path == \
                self.login_path and url.split("?")[0] != self.login_path:
            self.relogins += 1
            if self.relogins > MAX_RELOGINS:
                raise HarnessError(f"{self.user.email} keeps being logged out (last at {url})")
            self.client = self.scenario.login(self.app, self.user)
            response, window = _get(self.app, self.client, url)
            return Exposure(url, _text_of(response, url, self.client, self.app), window, response.status_code,
                            response.mimetype, response.headers.get("Location"), relogged=True)
        return Exposure(url, _text_of(response, url, self.client, self.app), window, response.status_code,
                        response.mimetype, response.headers.get("Location"))


@channel("html")
def html_channel(app: Flask, user: User, scenario: Scenario) -> Iterator[Exposure]:
    """Breadth-first from "/" along same-origin links and GET forms (bounded), then every
    GET route with its parameters filled (pages never linked for this user included)."""
    browser = _Browser(app, user, scenario)
    visited: set[str] = set()
    forms_seen: set[tuple] = set()
    queue: deque[str] = deque(["/"])
    pages = 0
    while queue and pages < MAX_PAGES:
        url = queue.popleft()
        if url in visited:
            continue
        visited.add(url)
        pages += 1
        exposure = browser.get(url)
        yield exposure
        queue.extend(u for u in _follow(exposure, scenario, forms_seen) if u not in visited)
    seeds = [Probe(url, tuple(f"{url}?{urlencode({'doel': p})}" for p in scenario.purposes))
             for url in scenario.seeds]
    for probe in [*seeds, *route_probes(app, scenario, skip_endpoints=NEVER_PROBED)]:
        urls = [probe.url, *probe.variants]
        for url in urls:
            normal = normalise("/", url)
            if normal is None or normal in visited:
                continue
            visited.add(normal)
            exposure = browser.get(normal)
            yield exposure
            if exposure.status != 200:
                break  # the variants of a page the user cannot see change nothing
            if url == probe.url and probe.if_advertised and _advertises(exposure, "doel"):
                urls += probe.if_advertised
            # forms on probed pages (a purpose select, a search) are submitted too
            for extra in _follow(exposure, scenario, forms_seen, links=False):
                if extra not in visited:
                    visited.add(extra)
                    yield browser.get(extra)


def _follow(page: Exposure, scenario: Scenario, forms_seen: set[tuple], links: bool = True) -> list[str]:
    url = page.location
    if page.status in (301, 302, 303, 307, 308):
        target = normalise(url, page.redirect or "")
        return [target] if target else []
    if page.mimetype != "text/html":
        return []
    parser = _Page()
    parser.feed(page.text)
    found = [normalise(url, href) for href in parser.links] if links else []
    for form in parser.forms:
        if form["method"] != "get":
            continue
        action = form["action"] or url.split("?")[0]
        signature = form_signature(urljoin(url, action), form)
        variants = form_variants(form, scenario.search_terms)
        if signature in forms_seen:
            variants = variants[:1]
        forms_seen.add(signature)
        for variant in variants:
            found.append(normalise(url, f"{action}?{urlencode(variant)}"))
    return [u for u in found if u]


# --- API -----------------------------------------------------------------------------------

def api_token(client: FlaskClient, user: User, password: str) -> str | None:
    """A bearer token, answering the second factor when the account has one; None when
    the API refuses this account (e.g. two-factor not yet set up)."""
    body = {"email": user.email, "password": password}
    response = client.post("/api/v1/auth/token", json=body)
    if response.status_code == 401 and (response.get_json() or {}).get("error", {}).get("code") == "code_nodig":
        response = client.post("/api/v1/auth/token", json=body | {"otp": fresh_code(user)})
    if response.status_code != 201:
        return None
    return response.get_json()["access_token"]


def api_probes(app: Flask, scenario: Scenario) -> list[Probe]:
    """Every GET of ``netwerk.api.ENDPOINTS`` (and any other GET route under /api/), path
    parameters from the scenario's ids; a documented ``purpose`` query parameter gets each
    purpose, a documented ``q`` each search term (where the route table documents no query,
    every path with an id gets ``purpose``)."""
    from netwerk.api import ENDPOINTS

    documented = _query_params(ENDPOINTS)
    probes: list[Probe] = []
    for path, query in sorted(documented.items()):
        names = re.findall(r"{([^}]+)}", path)
        choices = []
        for name in names:
            values = scenario.values(name, _segment_before(path.replace("{", "<").replace("}", ">"), name))
            if values is None:
                raise HarnessError(f"API path {path}: no values for parameter {name!r}")
            choices.append([(name, v) for v in values])
        for combo in islice(product(*choices), MAX_COMBINATIONS):
            url = "/api/v1" + path
            for name, value in combo:
                url = url.replace("{" + name + "}", value)
            variants = []
            if (query is not None and "purpose" in query) or (query is None and names):
                variants += [f"{url}?{urlencode({'purpose': p})}" for p in scenario.purposes]
            if query is not None and "q" in query:
                variants += [f"{url}?{urlencode({'q': t})}" for t in scenario.search_terms]
            probes.append(Probe(url, tuple(variants)))
    covered = {"/api/v1" + path.replace("{", "<").replace("}", ">") for path in documented}
    return probes + route_probes(app, scenario, api=True, query_name="purpose", skip=covered)


def _query_params(endpoints: list[Any]) -> dict[str, set[str] | None]:
    """The query parameters each GET path documents (its query model's fields); None where
    the route table does not say, and the harness then tries ``purpose`` on any path with
    an id in it."""
    found: dict[str, set[str] | None] = {}
    for ep in endpoints:
        if ep.method.lower() != "get":
            continue
        if not hasattr(ep, "query"):
            found[ep.path] = None
        else:
            names = found.get(ep.path) or set()
            found[ep.path] = names | set(getattr(ep.query, "model_fields", {}) if ep.query else ())
    return found


@channel("api")
def api_channel(app: Flask, user: User, scenario: Scenario) -> Iterator[Exposure]:
    client = app.test_client()
    token = api_token(client, user, scenario.password)
    if token is None:
        return
    headers = {"Authorization": f"Bearer {token}"}
    for probe in api_probes(app, scenario):
        for url in (probe.url, *probe.variants):
            with audit_window() as window:
                response = client.get(url, headers=headers)
            yield Exposure(url, _text_of(response, url), window.range, response.status_code, response.mimetype,
                           response.headers.get("Location"))
            if response.status_code != 200:
                break


# --- mail, log, audit log ------------------------------------------------------------------

@channel("mail", carries_content=False, per_user=False)
def mail_channel(app: Flask, user: None, scenario: Scenario) -> Iterator[Exposure]:
    """Every mail in the outbox: Netwerk's mails carry a link, never content."""
    for mail in db.session.scalars(select(OutboxMail)):
        yield Exposure(f"mail {mail.kind} to {mail.recipient}", f"{mail.subject}\n{mail.body}")


@channel("audit", carries_content=False, per_user=False)
def audit_channel(app: Flask, user: None, scenario: Scenario) -> Iterator[Exposure]:
    """The audit log holds ids and categories, never content (CONVENTIONS item 5)."""
    for entry in db.session.scalars(select(AuditEntry)):
        fields = (entry.summary, entry.object_id, entry.purpose, entry.access_point,
                  json.dumps(entry.meta, default=str), json.dumps(entry.subject_ids))
        yield Exposure(f"audit entry {entry.seq} ({entry.action})", "\n".join(str(f) for f in fields))


@channel("log", carries_content=False, per_user=False)
def log_channel(app: Flask, user: None, scenario: Scenario) -> Iterator[Exposure]:
    """Every log record emitted while the other channels ran (messages, arguments and
    tracebacks): logs leave the privacy gate's reach, so they carry no content."""
    formatter = logging.Formatter()
    for record in scenario.log_records:
        try:
            text = record.getMessage()
        except Exception:  # a bad format string is still worth scanning raw
            text = f"{record.msg} {record.args}"
        if record.exc_info:
            text += "\n" + formatter.formatException(record.exc_info)
        yield Exposure(f"log {record.name}:{record.levelname}", text)

