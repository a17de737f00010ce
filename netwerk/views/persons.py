"""Persons and households at the "that" level, their content through the privacy gate,
reporting an involvement, consent, and emergency access.

A person the viewer's organisation has no involvement with (directly or through the
household) answers exactly like a person that does not exist: the same 404.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from netwerk import access, queries
from netwerk import operations as ops
from netwerk.content import content_for
from netwerk.db import db, utcnow
from netwerk.forms import (
    CONSENT_FORM_LABELS,
    CONSENT_GIVER_LABELS,
    CONSENT_STEP_LABELS,
    ConfirmForm,
    ConsentForm,
    EmergencyForm,
    IdentityForm,
    MemberForm,
    NoteForm,
    ReportForm,
)
from netwerk.models import RELATIONS, Involvement, Person
from netwerk.web import (
    Page,
    load_or_404,
    own_person,
    permission_required,
    refused,
    visible_family,
    visible_person,
    work_actor,
)
from privacy.models import Consent
from privacy.operations import ConsentSpec
from privacy.queries import covenant_in_force, labels

bp = Blueprint("persons", __name__)
T = TypeVar("T")


def _identity(form: IdentityForm) -> ops.PersonData:
    return ops.PersonData(first_name=form.first_name.data, last_name=form.last_name.data,
                          birth_date=form.birth_date.data, bsn=form.bsn.data,
                          municipality=form.municipality.data or None, address=form.address.data or None,
                          safety_flag=bool(form.safety_flag.data))


def _identifying(form: IdentityForm, call: Callable[[str | None], T]) -> tuple[T | None, list[Person]]:
    """Run an operation that identifies a person. Whatever the outcome the look-up stays
    counted (the operation undid everything else in its savepoint), so it is committed;
    a refusal lands on the form, a same-name warning returns the candidates."""
    try:
        result = call(form.choice.data or None)
    except ops.DuplicatePerson as exc:
        db.session.commit()
        form.form_errors.append(exc.message)
        return None, exc.candidates
    except ops.OperationError as exc:
        db.session.commit()
        refused(form, exc)
        return None, []
    db.session.commit()
    return result, []


@bp.route("/personen")
@permission_required("persons.work")
def index() -> str:
    query = request.args.get("q", "")[:100]
    return render_template("persons/index.html", rows=queries.visible_persons(current_user.organisation_id, query),
                           query=query)


@bp.route("/betrokkenheid/melden", methods=["GET", "POST"])
@permission_required("persons.work")
def report() -> Page:
    form = ReportForm()
    if not form.is_submitted():
        form.contact_name.data, form.contact_email.data = current_user.name, current_user.email
        form.contact_phone.data, form.start_date.data = current_user.phone, utcnow().date()
    candidates = []
    if form.validate_on_submit():
        data = ops.InvolvementData(current_user.organisation_id, form.contact_name.data, form.contact_email.data,
                                   form.start_date.data, form.contact_phone.data or None, form.end_date.data)
        involvement, candidates = _identifying(form, lambda choice: ops.report_involvement(
            _identity(form), data, work_actor(), utcnow(), choice))
        if involvement is not None:
            flash("Betrokkenheid gemeld.", "success")
            return redirect(url_for("persons.show", person_id=involvement.person_id))
    return render_template("persons/report.html", form=form, candidates=candidates, new_person=ops.NEW_PERSON), \
        422 if form.is_submitted() else 200


@bp.route("/personen/<person_id>")
@permission_required("persons.work")
def show(person_id: str) -> str:
    person, relation = visible_person(person_id)
    actor = work_actor()
    contexts = access.purposes_for(actor, person.id, utcnow())
    chosen = access.choose_purpose(contexts, request.args.get("doel"))
    content = content_for(actor, [person], chosen.purpose if chosen else None,
                          chosen.source if chosen else None)[person.id]
    db.session.commit()  # the gate's audit entries
    family, members = queries.household(person.id, current_user.organisation_id)
    return render_template(
        "persons/show.html", person=person, relation=relation, content=content, contexts=contexts,
        chosen=chosen, involvements=queries.involvements_of([person.id]), family=family, members=members,
        matches=queries.matches_of_org(current_user.organisation_id, person.id),
        consents=queries.consents_of(person.id) if relation == "betrokken" else [],
        note_form=_note_form(), consent_form=_consent_form(), emergency_form=_emergency_form(),
        confirm=ConfirmForm(), relations=RELATIONS, step_labels=CONSENT_STEP_LABELS,
        giver_labels=CONSENT_GIVER_LABELS, form_labels=CONSENT_FORM_LABELS,
        organisations={str(o.id): o.name for o in queries.organisations()}, today=utcnow().date(),
        requested=request.args.get("doel"), category_labels=_labels()[1])


@bp.route("/gezinnen/<family_id>")
@permission_required("persons.work")
def family(family_id: str) -> str:
    family = visible_family(family_id)
    org_id = current_user.organisation_id
    members = queries.visible_members(family, org_id)
    actor, now = work_actor(), utcnow()
    purposes = {m.person.id: access.choose_purpose(access.purposes_for(actor, m.person.id, now), None)
                for m in members}
    # One content read per purpose context: members without a context see own content only.
    by_context: dict[access.PurposeContext | None, list[Person]] = defaultdict(list)
    for m in members:
        by_context[purposes[m.person.id]].append(m.person)
    content = {}
    for context, persons in by_context.items():
        content |= content_for(actor, persons, context.purpose if context else None,
                               context.source if context else None)
    db.session.commit()
    return render_template("persons/family.html", family=family, members=members, content=content,
                           purposes=purposes, involvements=queries.involvements_of([m.person.id for m in members]),
                           relations=RELATIONS, category_labels=_labels()[1])


@bp.route("/personen/<person_id>/gezinslid", methods=["GET", "POST"])
@permission_required("persons.work")
def add_member(person_id: str) -> Page:
    person = own_person(person_id)
    form = MemberForm()
    candidates = []
    if form.validate_on_submit():
        family, candidates = _identifying(form, lambda choice: ops.add_household_member(
            person, form.anchor_relation.data, _identity(form), form.relation.data, work_actor(), utcnow(), choice))
        if family is not None:
            flash("Gezinslid toegevoegd.", "success")
            return redirect(url_for("persons.show", person_id=person.id))
    return render_template("persons/member.html", form=form, person=person, candidates=candidates,
                           has_family=ops.family_of(person.id) is not None, new_person=ops.NEW_PERSON), \
        422 if form.is_submitted() else 200


# --- content, consent, emergency access ---------------------------------------------------

def _labels() -> tuple[dict[str, str], dict[str, str]]:
    return labels(covenant_in_force(utcnow().date()))


def _choices(which: int) -> list[SelectChoice]:
    return [SelectChoice(code, label) for code, label in _labels()[which].items()]


def _note_form() -> NoteForm:
    form = NoteForm()
    form.category.choices = _choices(1)
    return form


def _consent_form() -> ConsentForm:
    form = ConsentForm()
    form.organisation_id.choices = [SelectChoice("", "—"), *queries.organisation_choices()]
    return form


def _emergency_form() -> EmergencyForm:
    form = EmergencyForm()
    form.purpose.choices = _choices(0)
    return form


def _back(person: Person, anchor: str = "") -> Response:
    return redirect(url_for("persons.show", person_id=person.id) + anchor)


def _flash_errors(form: object) -> None:
    for errors in getattr(form, "errors", {}).values():
        for message in errors:
            flash(str(message), "error")


@bp.route("/personen/<person_id>/notities", methods=["POST"])
@permission_required("persons.work")
def add_note(person_id: str) -> Response:
    person = own_person(person_id)
    form = _note_form()
    if not form.validate_on_submit():
        _flash_errors(form)
        return _back(person, "#inhoud")
    try:
        ops.add_note(person, current_user, form.category.data, form.text.data, work_actor(), utcnow().date())
    except ops.OperationError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash("Notitie opgeslagen.", "success")
    return _back(person, "#inhoud")


@bp.route("/personen/<person_id>/noodtoegang", methods=["POST"])
@permission_required("persons.work")
def emergency(person_id: str) -> Response:
    person, _ = visible_person(person_id)
    form = _emergency_form()
    if not form.validate_on_submit():
        _flash_errors(form)
        return _back(person, "#inhoud")
    try:
        claim = ops.claim_purpose(person, form.purpose.data, form.reason.data, work_actor(), utcnow())
    except ops.OperationError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _back(person, "#inhoud")
    db.session.commit()
    flash("Noodtoegang vastgelegd; de privacy officer beoordeelt dit.", "success")
    return redirect(url_for("persons.show", person_id=person.id, doel=claim.purpose) + "#inhoud")


@bp.route("/personen/<person_id>/instemming", methods=["POST"])
@permission_required("persons.work")
def consent(person_id: str) -> Response:
    person = own_person(person_id)
    form = _consent_form()
    if not form.validate_on_submit():
        _flash_errors(form)
        return _back(person, "#instemming")
    org = form.organisation_id.data or None
    if form.step.data == "delen_met_organisatie" and org not in {c.value for c in queries.organisation_choices()}:
        flash("Kies de organisatie waarmee gedeeld mag worden.", "error")
        return _back(person, "#instemming")
    spec = ConsentSpec(step=form.step.data, given_by=form.given_by.data, form=form.form.data,
                       given_on=form.given_on.data,
                       organisation_id=_uuid(org) if form.step.data == "delen_met_organisatie" else None)
    try:
        ops.record_consent(person, spec, work_actor(), utcnow().date())
    except ops.OperationError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash("Instemming vastgelegd.", "success")
    return _back(person, "#instemming")


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


@bp.route("/personen/<person_id>/instemming/<int:consent_id>/intrekken", methods=["POST"])
@permission_required("persons.work")
def withdraw(person_id: str, consent_id: int) -> Response:
    person = own_person(person_id)
    ConfirmForm().validate_on_submit() or abort(400)
    row = db.session.get(Consent, consent_id)
    if row is None or row.person_id != person.id:
        abort(404)
    if row.withdrawn_on is not None:
        flash("Deze instemming is al ingetrokken.", "error")
        return _back(person, "#instemming")
    try:
        ops.withdraw_person_consent(row, work_actor(), utcnow().date())
    except ops.OperationError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _back(person, "#instemming")
    db.session.commit()
    flash("Instemming ingetrokken; dit geldt direct voor elke volgende beslissing.", "success")
    return _back(person, "#instemming")


@bp.route("/personen/<person_id>/betrokkenheid/<involvement_id>/beeindigen", methods=["POST"])
@permission_required("persons.work")
def end_involvement(person_id: str, involvement_id: str) -> Response:
    person = own_person(person_id)
    ConfirmForm().validate_on_submit() or abort(400)
    involvement = load_or_404(Involvement, involvement_id)
    if involvement.person_id != person.id:
        abort(404)
    try:
        ops.end_involvement(involvement, work_actor(), utcnow().date())
    except ops.OperationError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _back(person)
    db.session.commit()
    flash("Betrokkenheid beëindigd.", "success")
    return redirect(url_for("persons.index"))
