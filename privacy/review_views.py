"""The review queue's screens (/privacy/beoordelen): the queue with its filters, a flag with
the audit lines it rests on, and the decision form. Privacy officers only; they see the
audit log's codes and professionals' names, never case content. Thin handlers: the rules
and the decision live in :mod:`privacy.review`."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import Select, select
from werkzeug.wrappers import Response

from netwerk.auth import current_actor
from netwerk.db import db
from netwerk.errors import error_response
from netwerk.models import Organisation, User
from netwerk.validators import day_field
from netwerk.web import permission_required
from privacy import explorer, review
from privacy.audit import record
from privacy.models import ReviewFlag

bp = Blueprint("review", __name__, url_prefix="/privacy")

ROLE = "privacy"
PAGE_SIZE = 50
LINES_SHOWN = 200
STATES = {"open": "open", "beoordeeld": "beoordeeld", "alle": "alle"}


@dataclass(frozen=True)
class QueueFilter:
    kind: str | None = None
    state: str = "open"
    date_from: date | None = None
    date_to: date | None = None
    before: int | None = None

    def args(self, **changes: object) -> dict[str, str]:
        values = {"soort": self.kind, "status": self.state, "van": self.date_from, "tot": self.date_to,
                  "voor": self.before} | changes
        return {k: v.isoformat() if isinstance(v, date) else str(v) for k, v in values.items() if v is not None}


def parse_filter(args: Mapping[str, str]) -> tuple[QueueFilter, list[str]]:
    errors: list[str] = []
    kind = (args.get("soort") or "").strip() or None
    if kind and kind not in review.KIND_LABELS:
        errors.append("Deze soort signaal bestaat niet.")
        kind = None
    state = (args.get("status") or "open").strip()
    if state not in STATES:
        errors.append("Kies als status open, beoordeeld of alle.")
        state = "open"
    date_from = day_field(args.get("van"), "van", errors)
    date_to = day_field(args.get("tot"), "tot en met", errors)
    if date_from and date_to and date_to < date_from:
        errors.append("De periode klopt niet: de einddatum ligt vóór de begindatum.")
    raw = (args.get("voor") or "").strip()
    before = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else None
    if raw and before is None:
        errors.append("Deze pagina bestaat niet; begin opnieuw bij de nieuwste signalen.")
    return QueueFilter(kind, state, date_from, date_to, before), errors


def _query(f: QueueFilter) -> Select:
    stmt = select(ReviewFlag).order_by(ReviewFlag.id.desc())
    if f.kind:
        stmt = stmt.where(ReviewFlag.kind == f.kind)
    if f.state == "open":
        stmt = stmt.where(ReviewFlag.decision.is_(None))
    elif f.state == "beoordeeld":
        stmt = stmt.where(ReviewFlag.decision.is_not(None))
    # A flag belongs to a period when its own period touches it.
    if f.date_from:
        stmt = stmt.where(ReviewFlag.period_end >= datetime.combine(f.date_from, time.min, tzinfo=UTC))
    if f.date_to:
        stmt = stmt.where(ReviewFlag.period_start < datetime.combine(f.date_to + timedelta(days=1), time.min,
                                                                      tzinfo=UTC))
    if f.before is not None:
        stmt = stmt.where(ReviewFlag.id < f.before)
    return stmt


def names(flags: list[ReviewFlag]) -> tuple[dict[uuid.UUID, str], dict[uuid.UUID, str]]:
    """Names of the professionals and organisations on a page: two statements."""
    user_ids = {f.user_id for f in flags} | {f.decided_by_user_id for f in flags if f.decided_by_user_id}
    org_ids = {f.organisation_id for f in flags if f.organisation_id}
    users = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(user_ids))).all()) \
        if user_ids else {}
    orgs = dict(db.session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(org_ids)))
                .all()) if org_ids else {}
    return users, orgs


def measure_text(flag: ReviewFlag) -> str:
    cfg, n = current_app.config, flag.measure
    return {
        "noodtoegang": "noodtoegang gevraagd",
        "buiten_context": f"{n} {'inzage' if n == 1 else 'inzagen'} zonder overleg- of plancontext",
        "piek": f"{n} gezinnen binnen {cfg['REVIEW_BURST_MINUTES']} minuten",
        "opzoeken": f"{n} {'zoekactie' if n == 1 else 'zoekacties'} gemarkeerd",
        "weigeringen": f"{n} weigeringen binnen {cfg['REVIEW_DENIALS_MINUTES']} minuten",
    }[flag.kind]


def _context() -> dict[str, object]:
    return {"kinds": review.KIND_LABELS, "decisions": review.DECISION_LABELS, "measure_text": measure_text}


@bp.route("/beoordelen")
@permission_required("audit.read")
def index() -> tuple[str, int]:
    run = review.run_locked(limit=current_app.config["REVIEW_ON_THE_FLY_MAX"])
    f, errors = parse_filter(request.args)
    if errors:
        return render_template("privacy/review/index.html", f=f, errors=errors, flags=None, run=run,
                               **_context()), 422
    flags = list(db.session.scalars(_query(f).limit(PAGE_SIZE + 1)))
    next_before = flags[PAGE_SIZE - 1].id if len(flags) > PAGE_SIZE else None
    flags = flags[:PAGE_SIZE]
    users, orgs = names(flags)
    return render_template("privacy/review/index.html", f=f, errors=[], flags=flags, users=users, orgs=orgs,
                           next_before=next_before, run=run, open_count=review.open_count(), **_context()), 200


def _flag(flag_id: int) -> ReviewFlag | None:
    return db.session.get(ReviewFlag, flag_id)


def _show(flag: ReviewFlag, errors: list[str], status: int = 200, form: Mapping[str, str] | None = None
          ) -> tuple[str, int]:
    entries = review.entries_of(flag, LINES_SHOWN)
    lines = explorer.lines_of(entries, explorer.filter_choices())
    decisions = review.history(flag)
    users, orgs = names([flag])
    users |= dict(db.session.execute(select(User.id, User.name).where(
        User.id.in_({d.decided_by_user_id for d in decisions}))).all()) if decisions else {}
    # Looking at a flag is looking at the audit log: on record, with codes only.
    record("review.viewed", actor=current_actor(ROLE), summary="review flag viewed", object_type="review_flag",
           object_id=flag.id, meta={"kind": flag.kind, "lines": len(lines)})
    db.session.commit()
    page = render_template("privacy/review/show.html", flag=flag, lines=lines, history=decisions, users=users,
                           orgs=orgs, errors=errors, form=form or {}, total=len(flag.seqs), shown=LINES_SHOWN,
                           **_context())
    return page, status


@bp.route("/beoordelen/<int:flag_id>")
@permission_required("audit.read")
def show(flag_id: int) -> Response | tuple[str, int]:
    flag = _flag(flag_id)
    if flag is None:
        return error_response(404, "Dit signaal bestaat niet.")
    return _show(flag, [])


@bp.route("/beoordelen/<int:flag_id>/besluit", methods=["POST"])
@permission_required("review.decide")
def decide(flag_id: int) -> Response | tuple[str, int]:
    flag = _flag(flag_id)
    if flag is None:
        return error_response(404, "Dit signaal bestaat niet.")
    form = request.form
    try:
        review.decide_flag(flag, form.get("besluit", ""), form.get("toelichting", ""), form.get("versie"),
                           current_actor(ROLE))
    except review.ReviewError as exc:
        db.session.rollback()
        return _show(db.session.get(ReviewFlag, flag_id), [exc.message], exc.status, form)
    db.session.commit()
    flash("Het besluit is vastgelegd." if flag.revisions == 1 else "Het herziene besluit is vastgelegd.", "success")
    return redirect(url_for(".show", flag_id=flag.id))
