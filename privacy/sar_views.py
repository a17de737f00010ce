"""Views of the subject access report (inzageoverzicht): find the person, preview the
report in HTML, download it as PDF. Privacy officers only (``audit.read``); every report
made and every look-up is audited. Load, check, act: the subject from the URL (a Dutch
404 when it does not exist), the period, then the report and its audit entry."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_login import current_user

from netwerk.auth import current_actor
from netwerk.db import db
from netwerk.models import ORG_TYPES
from netwerk.web import permission_required
from privacy.explorer import FilterError, Lookup, find_persons, log_lookup
from privacy.sar import (
    WORDS,
    Period,
    SarError,
    Subject,
    build_report,
    ever_audited,
    family_subject,
    introduction,
    log_report,
    parse_period,
    person_subject,
    render_pdf,
    restriction_text,
    summary_sentence,
    withhold_types,
)

bp = Blueprint("sar", __name__, url_prefix="/privacy")

ROLE = "privacy"
NOT_COVERED = ("Over {who} staat niets in het auditlog. Netwerk heeft over {whom} dus niets gedeeld. "
               "Er is geen overzicht te maken; laat de aanvrager weten dat er niets is vastgelegd.")


def _urls(subject: Subject | None, period: Period) -> dict[str, str]:
    if subject is None:
        return {}
    endpoint, key = (".family", "family_id") if subject.kind == "family" else (".person", "person_id")
    return {"page": url_for(endpoint, **{key: subject.id}),
            "pdf": url_for(f"{endpoint}_pdf", **{key: subject.id}, **period.args())}


def _page(status: int = 200, **context: object) -> tuple[str, int]:
    context.setdefault("lookup", Lookup())
    context["urls"] = _urls(context.get("subject"), context.get("period") or Period())  # type: ignore[arg-type]
    page = render_template("privacy/sar.html", withheld_types=[ORG_TYPES.get(t, t) for t in withhold_types()],
                           words=WORDS,
                           introduction=introduction, summary_sentence=summary_sentence,
                           restriction_text=restriction_text, **context)
    return page, status


@bp.route("/inzage")
@permission_required("audit.read")
def index() -> tuple[str, int]:
    return _page()


@bp.route("/inzage/zoeken", methods=["POST"])
@permission_required("audit.read")
def lookup() -> Response | tuple[str, int]:
    form = request.form
    typed = Lookup(form.get("bsn", ""), form.get("voornaam", ""), form.get("achternaam", ""),
                   form.get("geboortedatum", ""))
    try:
        found = find_persons(typed)
    except FilterError as exc:
        return _page(422, errors=exc.messages, lookup=replace(typed, bsn=""))
    log_lookup(current_actor(ROLE), typed, found)
    db.session.commit()
    if len(found) == 1:
        return redirect(url_for(".person", person_id=found[0].id))
    if not found:
        return _page(404, errors=["Er is geen persoon gevonden met deze gegevens. Over iemand die niet in Netwerk "
                                  "staat, is in Netwerk ook niets gedeeld."], lookup=replace(typed, bsn=""))
    return _page(candidates=found)


def _uuid(raw: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise SarError(f"{what} bestaat niet in Netwerk. Zoek de persoon opnieuw op.", 404) from None


def _report(load: Callable[[uuid.UUID], Subject], raw_id: str, what: str, kind: str) -> Response | tuple[str, int]:
    subject: Subject | None = None
    period = Period()
    try:
        subject = load(_uuid(raw_id, what))
        period = parse_period(request.args.get("van"), request.args.get("tot"))
        if not ever_audited(subject):
            whom = "dit gezin" if subject.kind == "family" else "deze persoon"
            raise SarError(NOT_COVERED.format(who=subject.described, whom=whom), 404)
        report = build_report(subject, period, current_user.name)
    except SarError as exc:
        db.session.rollback()
        return _page(exc.status, errors=[exc.message], subject=subject, period=period, raw=request.args)
    log_report(current_actor(ROLE), report, kind)
    db.session.commit()  # the report is on record before it leaves
    if kind == "pdf":
        stamp = report.made_at.strftime("%Y%m%d")
        return Response(render_pdf(report), mimetype="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="inzageoverzicht-{stamp}.pdf"'})
    return _page(subject=subject, period=period, report=report, raw=request.args)


@bp.route("/inzage/persoon/<person_id>")
@permission_required("audit.read")
def person(person_id: str) -> Response | tuple[str, int]:
    return _report(person_subject, person_id, "Deze persoon", "html")


@bp.route("/inzage/persoon/<person_id>/pdf")
@permission_required("audit.read")
def person_pdf(person_id: str) -> Response | tuple[str, int]:
    return _report(person_subject, person_id, "Deze persoon", "pdf")


@bp.route("/inzage/gezin/<family_id>")
@permission_required("audit.read")
def family(family_id: str) -> Response | tuple[str, int]:
    return _report(family_subject, family_id, "Dit gezin", "html")


@bp.route("/inzage/gezin/<family_id>/pdf")
@permission_required("audit.read")
def family_pdf(family_id: str) -> Response | tuple[str, int]:
    return _report(family_subject, family_id, "Dit gezin", "pdf")
