"""The privacy officer's covenant editor: read any version, and make a change, which is
always a new version written by :func:`privacy.operations.create_changed_version`.

The version in force (``covenant_in_force``) is what every decision uses; a version is
never edited in place.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from netwerk.auth import current_actor
from netwerk.db import db, utcnow
from netwerk.models import ORG_TYPES, Organisation, User
from netwerk.web import permission_required
from privacy import operations as ops
from privacy.forms import (
    CONSENT_STEP_LABELS,
    LEGAL_BASIS_LABELS,
    NewVersionForm,
    PartiesForm,
    PartyRow,
    Row,
    RuleMatrixForm,
    parties_form,
    rule_matrix_form,
)
from privacy.models import CovenantVersion
from privacy.queries import covenant_in_force

bp = Blueprint("privacy", __name__, url_prefix="/privacy")

Page = Response | str | tuple[str, int]
ROLE = "privacy"


def _today() -> date:
    # The same day privacy.policy.decide uses for "the version in force".
    return utcnow().date()


def _version_or_404(covenant_id: int) -> CovenantVersion:
    covenant = db.session.get(CovenantVersion, covenant_id)
    if covenant is None:
        abort(404)
    return covenant


def _versions() -> list[CovenantVersion]:
    return list(db.session.scalars(
        select(CovenantVersion).order_by(CovenantVersion.valid_from.desc(), CovenantVersion.id.desc())))


def _organisation_names(ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all())


def _rows(spec: ops.CovenantSpec, names: dict[uuid.UUID, str], extra: tuple[str, ...] = ()) -> list[Row]:
    """The receivers a purpose's matrix shows: every party type, then each organisation that
    has a rule of its own in this version (or is in ``extra``)."""
    types = sorted({p.party_type for p in spec.parties}, key=lambda t: ORG_TYPES.get(t, t).lower())
    rows = [Row(f"type:{t}", ORG_TYPES.get(t, t)) for t in types]
    own = {r.receiver for r in spec.rules if r.receiver.startswith("org:")} | set(extra)
    orgs = [p for p in spec.parties if f"org:{p.organisation_id}" in own]
    orgs.sort(key=lambda p: names.get(p.organisation_id, "").lower())
    rows += [Row(f"org:{p.organisation_id}", names.get(p.organisation_id, str(p.organisation_id))) for p in orgs]
    return rows


@dataclass(frozen=True)
class Shown:
    """A version with what its pages show."""

    covenant: CovenantVersion
    spec: ops.CovenantSpec
    names: dict[uuid.UUID, str]
    state: str  # "van kracht", "gepland", "vervangen", "verlopen"


def _shown(covenant: CovenantVersion, in_force: CovenantVersion | None) -> Shown:
    spec = ops.spec_from_version(covenant)
    today = _today()
    if in_force is not None and covenant.id == in_force.id:
        state = "van kracht"
    elif covenant.valid_from > today:
        state = "gepland"
    elif covenant.valid_until is not None and covenant.valid_until < today:
        state = "verlopen"
    else:
        state = "vervangen"
    return Shown(covenant, spec, _organisation_names({p.organisation_id for p in spec.parties}), state)


def _creators(versions: list[CovenantVersion]) -> dict[uuid.UUID, str]:
    ids = {v.created_by_user_id for v in versions if v.created_by_user_id}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


def _render_version(covenant: CovenantVersion | None) -> str:
    in_force = covenant_in_force(_today())
    covenant = covenant or in_force
    versions = _versions()
    context: dict[str, object] = {
        "versions": versions, "in_force": in_force, "creators": _creators(versions),
        "basis_labels": LEGAL_BASIS_LABELS, "step_labels": CONSENT_STEP_LABELS, "org_types": ORG_TYPES,
    }
    if covenant is None:
        return render_template("privacy/covenant.html", shown=None, **context)
    shown = _shown(covenant, in_force)
    purpose = request.args.get("doel") or next(iter(shown.spec.purposes), None)
    if purpose is not None and purpose not in shown.spec.purposes:
        abort(404)
    rules = {(r.receiver, r.category): r for r in shown.spec.rules if r.purpose == purpose}
    return render_template("privacy/covenant.html", shown=shown, purpose=purpose, rules=rules,
                           rows=_rows(shown.spec, shown.names), **context)


@bp.route("/convenant")
@permission_required("covenant.manage")
def covenant() -> str:
    return _render_version(None)


@bp.route("/convenant/<int:covenant_id>")
@permission_required("covenant.manage")
def covenant_version(covenant_id: int) -> str:
    return _render_version(_version_or_404(covenant_id))


# --- new versions ---------------------------------------------------------------------------

def _newest_id() -> int:
    return db.session.scalar(select(func.max(CovenantVersion.id))) or 0


def _prefill(form: NewVersionForm, base: CovenantVersion) -> None:
    """On GET only: start from the base, with a fresh code and today as first day."""
    form.version.data = ops.next_version_code(base)
    form.title.data = base.title
    form.valid_from.data = max(_today(), base.valid_from)
    form.valid_until.data = base.valid_until
    form.involvement_max_years.data = base.involvement_max_years
    form.involvement_age_limit.data = base.involvement_age_limit
    form.newest.data = str(_newest_id())


def _header(form: NewVersionForm) -> ops.VersionHeader:
    return ops.VersionHeader(
        version=form.version.data, title=form.title.data, valid_from=form.valid_from.data,
        valid_until=form.valid_until.data, involvement_max_years=form.involvement_max_years.data,
        involvement_age_limit=form.involvement_age_limit.data)


def _stale(form: NewVersionForm) -> bool:
    if form.newest.data == str(_newest_id()):
        return False
    form.form_errors.append("Intussen is er een andere nieuwe versie vastgesteld. Er is niets opgeslagen; "
                            "bekijk eerst de versies en begin dan opnieuw.")
    return True


def _later_versions(base: CovenantVersion) -> list[CovenantVersion]:
    """Versions that start after ``base``: a version made from ``base`` does not contain
    their changes, and they take over again on their first day."""
    return [v for v in _versions() if v.valid_from > max(base.valid_from, _today())]


def _save(form: NewVersionForm, base: CovenantVersion, **change: object) -> Response | None:
    """Write the new version; on refusal put the Dutch message on the form and return None."""
    if _stale(form):
        return None
    try:
        created = ops.create_changed_version(base, _header(form), current_actor(ROLE), today=_today(),
                                             **change)  # type: ignore[arg-type]
    except ops.CovenantError as exc:
        db.session.rollback()
        form.form_errors.append(exc.message)
        return None
    db.session.commit()
    flash(f"Versie {created.version} is vastgesteld; deze geldt vanaf {created.valid_from:%d-%m-%Y}.", "success")
    return redirect(url_for("privacy.covenant_version", covenant_id=created.id))


def _editor(template: str, form: NewVersionForm, base: CovenantVersion, **context: object) -> tuple[str, int]:
    page = render_template(template, form=form, base=base, later=_later_versions(base),
                           in_force=covenant_in_force(_today()), **context)
    return page, 422 if form.is_submitted() else 200


@bp.route("/convenant/<int:covenant_id>/nieuwe-versie", methods=["GET", "POST"])
@permission_required("covenant.manage")
def new_general(covenant_id: int) -> Page:
    base = _version_or_404(covenant_id)
    form = NewVersionForm()
    if not form.is_submitted():
        _prefill(form, base)
    elif form.validate() and (done := _save(form, base)):
        return done
    return _editor("privacy/new_general.html", form, base)


@bp.route("/convenant/<int:covenant_id>/nieuwe-versie/regels/<purpose>", methods=["GET", "POST"])
@permission_required("covenant.manage")
def new_rules(covenant_id: int, purpose: str) -> Page:
    base = _version_or_404(covenant_id)
    shown = _shown(base, None)
    if purpose not in shown.spec.purposes:
        abort(404)
    parties = {str(p.organisation_id) for p in shown.spec.parties}
    extra = tuple(request.args.getlist("ontvanger"))
    if any(org_id not in parties for org_id in extra):
        abort(404)
    rows = _rows(shown.spec, shown.names, tuple(f"org:{org_id}" for org_id in extra))
    form: RuleMatrixForm = rule_matrix_form(rows, shown.spec.categories)()
    if not form.is_submitted():
        _prefill(form, base)
        _prefill_rules(form, shown.spec, purpose)
    elif form.validate() and (done := _save(form, base, purpose=purpose, cells=_cells(form))):
        return done
    shown_orgs = {row.receiver for row in rows}
    addable = [SelectChoice(str(p.organisation_id), shown.names.get(p.organisation_id, str(p.organisation_id)))
               for p in shown.spec.parties if f"org:{p.organisation_id}" not in shown_orgs]
    addable.sort(key=lambda c: c.label.lower())
    return _editor("privacy/new_rules.html", form, base, purpose=purpose, purpose_label=shown.spec.purposes[purpose],
                   extra=extra, addable=addable)


def _prefill_rules(form: RuleMatrixForm, spec: ops.CovenantSpec, purpose: str) -> None:
    rules = {(r.receiver, r.category): r for r in spec.rules if r.purpose == purpose}
    for row in form.rows:
        for category in form.categories:
            rule = rules.get((row.receiver, category))
            if rule is None:
                allowed = "type" if row.receiver.startswith("org:") else "nee"
            else:
                allowed = "ja" if rule.allowed else "nee"
            form.cell(row.receiver, category, "toegestaan").data = allowed
            form.cell(row.receiver, category, "grondslag").data = (rule.legal_basis if rule else None) or ""
            form.cell(row.receiver, category, "stap").data = (rule.consent_step if rule else None) or ""
            form.cell(row.receiver, category, "artikel").data = rule.article if rule else ""


def _cells(form: RuleMatrixForm) -> dict[tuple[str, str], ops.RuleCell]:
    allowed = {"ja": True, "nee": False, "type": None}
    return {
        (row.receiver, category): ops.RuleCell(
            allowed=allowed[form.cell(row.receiver, category, "toegestaan").data],
            article=form.cell(row.receiver, category, "artikel").data or "",
            legal_basis=form.cell(row.receiver, category, "grondslag").data or None,
            consent_step=form.cell(row.receiver, category, "stap").data or None,
        )
        for row in form.rows for category in form.categories
    }


@bp.route("/convenant/<int:covenant_id>/nieuwe-versie/partijen", methods=["GET", "POST"])
@permission_required("covenant.manage")
def new_parties(covenant_id: int) -> Page:
    base = _version_or_404(covenant_id)
    shown = _shown(base, None)
    rows = sorted((PartyRow(str(p.organisation_id), shown.names.get(p.organisation_id, str(p.organisation_id)),
                            p.joined_on) for p in shown.spec.parties), key=lambda r: r.label.lower())
    members = set(shown.names)
    candidates = [SelectChoice(str(o.id), f"{o.name} ({o.type_label})") for o in db.session.scalars(
        select(Organisation).where(Organisation.active.is_(True)).order_by(func.lower(Organisation.name)))
        if o.id not in members]
    form: PartiesForm = parties_form(rows, candidates)()
    if not form.is_submitted():
        _prefill(form, base)
        for party in shown.spec.parties:
            form.leaving(str(party.organisation_id)).data = party.left_on
    elif form.validate() and (done := _save(form, base, leaving=_leaving(form), joining=_joining(form))):
        return done
    types = {str(p.organisation_id): ORG_TYPES.get(p.party_type, p.party_type) for p in shown.spec.parties}
    return _editor("privacy/new_parties.html", form, base, types=types)


def _leaving(form: PartiesForm) -> dict[uuid.UUID, date | None]:
    return {uuid.UUID(party.organisation_id): form.leaving(party.organisation_id).data for party in form.parties}


def _joining(form: PartiesForm) -> ops.PartySpec | None:
    if not form.joining.data:
        return None
    organisation = db.session.get(Organisation, uuid.UUID(form.joining.data))
    assert organisation is not None  # one of the choices the form offered
    return ops.PartySpec(organisation.id, organisation.org_type, form.joined_on.data or form.valid_from.data)
