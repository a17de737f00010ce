"""Issue 5, "Must hold": SIGKILL the app during a live meeting and restart it — no committed
change is lost, and a connected client reconnects and replays with no missed and no
duplicated events. Real processes: gunicorn (gthread, as ``./run demo`` starts it) on a free
loopback port with a SQLite file database; plain HTTP clients (urllib) with cookies.

The subscriber is the school's teacher, admitted to "Preventief" only; the secretary moves
items in both sections. What the teacher receives over both connections must be exactly the
admitted events of the database's log, in order, each once.

Every wait is bounded; the gunicorn process group is stopped by its master's PID in a
``finally``.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import date, time, timedelta
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import or_, select

from meetings import operations as ops
from meetings.models import AgendaItem, Meeting, MeetingEvent
from netwerk import create_app
from netwerk.auth import actor_for
from netwerk.db import db
from privacy.models import AuditEntry
from tests.conftest import CSRF_RE, make_app
from tests.factories import PASSWORD, make_covenant, make_org, make_user
from tests.services import GunicornProcess

pytestmark = [pytest.mark.timeout(180)]
VERSION_RE = re.compile(r'name="version" type="hidden" value="([0-9]+)"')
REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 40.0
ENV_URL, ENV_INSTANCE = "NETWERK_STREAM_TEST_DATABASE_URL", "NETWERK_STREAM_TEST_INSTANCE"
ENV_REDIS = "NETWERK_STREAM_TEST_REDIS_URL"


def wsgi() -> Flask:
    """gunicorn's entry point: the app on the test's database file, short heartbeats; with
    Redis when the test runs several processes."""
    instance = Path(os.environ[ENV_INSTANCE])
    settings = {
        "INSTANCE_PATH": instance, "KEY_FILE": instance / "keys.json",
        "SQLALCHEMY_DATABASE_URI": os.environ[ENV_URL], "EMBEDDED_WORKER_AUTOSTART": False,
        "RATELIMIT_ENABLED": False, "SMTP_HOST": None, "MEETING_STREAM_HEARTBEAT_SECONDS": 0.5,
    }
    if os.environ.get(ENV_REDIS):
        settings["REDIS_URL"] = os.environ[ENV_REDIS]
    return create_app(settings)


# --- the world ------------------------------------------------------------------------------

def seed() -> dict[str, object]:
    """A live meeting with two sections and two families on the agenda of each."""
    from tests.meetings.conftest import TODAY as SPEC_DAY
    from tests.meetings.test_agenda import household

    cjg, police = make_org("CJG Test", "cjg"), make_org("Politie Test", "politie", "veiligheid")
    school, vh = make_org("School Test", "leerplicht", "onderwijs"), make_org("VH Test", "veiligheidshuis")
    make_covenant(cjg, police, school, vh)
    chair = make_user("voorzitter", org=vh, totp=True)
    secretary = make_user("secretaris", org=vh, email="secretaris@example.test")
    youth_worker = make_user(org=cjg)
    teacher = make_user(org=school, email="leraar@example.test")
    overleg = ops.create_overleg(ops.OverlegSpec(
        name="Hét Overleg Stroom", kind="procesoverleg", every_weeks=2, first_date=date(2026, 1, 6),
        start_time=time(13, 30), duration_minutes=180, place="Zaal",
        chair_ids=(chair.id,), secretary_id=secretary.id,
        sections=(ops.SectionSpec("Preventief", "signalering", (cjg.id, school.id)),)), actor_for(chair), SPEC_DAY)
    ops.add_section(overleg, ops.SectionSpec("Strafrecht onder 18", "procesregie", (cjg.id, police.id)),
                    chair, actor_for(chair), SPEC_DAY)
    meeting = Meeting(overleg_id=overleg.id, date=date.today() + timedelta(days=1), start_time=overleg.start_time,
                      duration_minutes=180, place="Zaal", status="live")
    db.session.add(meeting)
    db.session.commit()
    items: dict[str, list[str]] = {}
    for section in overleg.sections:
        for _ in range(2):
            family = household(None, cjg, police)
            item = ops.add_to_agenda(meeting, section, family, youth_worker, actor_for(youth_worker))
            items.setdefault(section.name, []).append(str(item.id))
        db.session.commit()
    return {"meeting": str(meeting.id), "items": items, "prevention": overleg.sections[0].id,
            "teacher": teacher.email, "secretary": secretary.email}


# --- the server -----------------------------------------------------------------------------

class Server(GunicornProcess):
    """The app under test in gunicorn (see tests.services.GunicornProcess), on a file
    database, embedded or with Redis."""

    def __init__(self, instance: Path, url: str, workers: int = 1, redis_url: str | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
        env.update({ENV_URL: url, ENV_INSTANCE: str(instance), "NETWERK_INSTANCE_PATH": str(instance),
                    ENV_REDIS: redis_url or ""})
        super().__init__("tests.meetings.test_stream_server:wsgi()", cwd=REPO, env=env,
                         log=instance / "gunicorn.log", workers=workers)

    def start(self, timeout: float = START_TIMEOUT) -> None:
        try:
            super().start(timeout)
        except RuntimeError as exc:
            pytest.fail(str(exc))

# --- clients --------------------------------------------------------------------------------

class Browser:
    """Cookies and forms over urllib, never through a proxy."""

    def __init__(self, server: Server) -> None:
        self.server, self.jar = server, CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                  urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> str:
        with self.opener.open(self.server.base + path, timeout=10) as response:
            return response.read().decode()

    def post(self, path: str, data: dict[str, str], token_from: str) -> str:
        match = CSRF_RE.search(self.get(token_from))
        assert match, f"no CSRF token on {token_from}"
        body = urllib.parse.urlencode({"csrf_token": match.group(1) or match.group(2), **data}).encode()
        with self.opener.open(self.server.base + path, data=body, timeout=10) as response:
            return response.geturl()

    def login(self, email: str) -> None:
        landed = self.post("/inloggen", {"email": email, "password": PASSWORD}, "/inloggen")
        assert urllib.parse.urlsplit(landed).path == "/", landed

    def stream(self, meeting_id: str, last_id: int | None) -> Iterator[tuple[int, str]]:
        """(id, event) of each message until the connection ends (EOF, reset or 5 s silence)."""
        request = urllib.request.Request(f"{self.server.base}/vergaderingen/{meeting_id}/stroom"
                                         + ("" if last_id is not None else "?na=0"))
        if last_id is not None:
            request.add_header("Last-Event-ID", str(last_id))
        with self.opener.open(request, timeout=5) as response:
            assert response.headers["Content-Type"].startswith("text/event-stream")
            fields: dict[str, str] = {}
            while True:
                try:
                    line = response.readline().decode()
                except (OSError, http.client.HTTPException):
                    return  # killed under us
                if not line:
                    return
                line = line.rstrip("\n")
                if line:
                    name, _, value = line.partition(": ")
                    fields[name] = value
                elif "id" in fields:
                    yield int(fields["id"]), fields["event"]
                    fields = {}
                else:
                    fields = {}


def take(messages: Iterator[tuple[int, str]], count: int) -> list[int]:
    got = []
    for event_id, _ in messages:
        got.append(event_id)
        if len(got) == count:
            break
    return got


def move(secretary: Browser, meeting_id: str, item_id: str, direction: str) -> None:
    page = f"/vergaderingen/{meeting_id}"
    version = VERSION_RE.search(secretary.get(page))  # the page's move buttons carry the meeting's version
    assert version, "no version on the meeting page"
    landed = secretary.post(f"{page}/agenda/{item_id}/verplaatsen", {"direction": direction,
                                                                    "version": version.group(1)}, page)
    assert urllib.parse.urlsplit(landed).path == page


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Path, str, dict[str, object]]]:
    url = f"sqlite:///{tmp_path / 'netwerk.sqlite3'}"
    app = make_app(tmp_path, url)
    with app.app_context():
        upgrade()
        facts = seed()
        db.session.remove()
        db.engine.dispose()
    yield tmp_path, url, facts | {"app": app}


@pytest.mark.parametrize("mode", ["embedded", "redis"])
def test_sigkill_and_restart_lose_nothing_and_the_client_replays_exactly(world, mode, request):
    """``embedded``: one process, in-process broker. ``redis``: two processes fanning out
    through the suite's real Redis (the stream and the POSTs may land in different ones)."""
    instance, url, facts = world
    meeting_id, items = str(facts["meeting"]), facts["items"]
    prevention, justice = items["Preventief"], items["Strafrecht onder 18"]
    redis_url = request.getfixturevalue("redis_server").url if mode == "redis" else None
    server = Server(instance, url, workers=2 if redis_url else 1, redis_url=redis_url)
    try:
        server.start()
        teacher, secretary = Browser(server), Browser(server)
        teacher.login(str(facts["teacher"]))
        secretary.login(str(facts["secretary"]))

        first = teacher.stream(meeting_id, None)
        received = take(first, 2)  # the two Preventief items put on the agenda while seeding
        for n in range(3):
            move(secretary, meeting_id, prevention[0], "neer" if n % 2 == 0 else "op")
            move(secretary, meeting_id, justice[0], "neer")
        received += take(first, 3)

        server.kill()
        assert take(first, 1) == []  # the stream ended with the process
        server.start()  # same port, same database file, same secret: cookies still work
        for _ in range(2):  # committed while the teacher is away: must be replayed
            move(secretary, meeting_id, prevention[1], "op")
            move(secretary, meeting_id, justice[1], "op")

        second = teacher.stream(meeting_id, received[-1])
        received += take(second, 2)
        move(secretary, meeting_id, justice[0], "op")
        move(secretary, meeting_id, prevention[0], "op")  # live, after the replay
        received += take(second, 1)
        with contextlib.suppress(Exception):
            second.close()
    finally:
        server.stop()

    app = facts["app"]
    with app.app_context():
        admitted = list(db.session.scalars(select(MeetingEvent.id).where(
            MeetingEvent.meeting_id == uuid.UUID(meeting_id),
            or_(MeetingEvent.section_id.is_(None), MeetingEvent.section_id == facts["prevention"]))
            .order_by(MeetingEvent.id)))
        everything = db.session.scalars(select(MeetingEvent).where(
            MeetingEvent.meeting_id == uuid.UUID(meeting_id))).all()
        reorders = db.session.scalars(select(AuditEntry.seq).where(AuditEntry.action == "meetings.agenda_reordered")
                                      ).all()
        positions = db.session.scalars(select(AgendaItem.position)).all()
        db.session.remove()
        db.engine.dispose()
    assert received == admitted, (received, admitted)  # nothing missed, nothing twice, in order
    assert len(set(received)) == len(received) and received == sorted(received)
    assert len(everything) == 4 + 12 and len(reorders) == 12  # every committed move survived the kill
    assert sorted(positions) == [0, 0, 1, 1]
