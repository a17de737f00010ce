"""Forms of overleggen and meetings (Flask-WTF, Dutch messages, unknown fields refused)."""

from __future__ import annotations

from wtforms import BooleanField, HiddenField, IntegerField, SelectField, SubmitField, TextAreaField, TimeField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from meetings.models import ATTENDANCE_STATES, DECISION_KINDS, OVERLEG_KINDS
from netwerk.forms import (
    PLAN_AGREEMENT_LABELS,
    REQUIRED,
    MultiCheckboxField,
    StrictForm,
    _choices,
    date_field,
    text,
)


class SectionFields(StrictForm):
    section_name = text("Naam van het onderdeel (bijvoorbeeld: strafrecht onder 18)", 120)
    section_purpose = SelectField("Doel uit het convenant", choices=[], validate_choice=True)
    section_parties = MultiCheckboxField("Organisaties aan tafel", choices=[], validate_choice=True)


class OverlegForm(SectionFields):
    name = text("Naam van het overleg", 120, minimum=2)
    kind = SelectField("Soort", choices=_choices(OVERLEG_KINDS), validate_choice=True)
    every_weeks = IntegerField("Elke hoeveel weken", validators=[
        InputRequired(REQUIRED), NumberRange(1, 12, "Kies 1 tot 12 weken.")])
    first_date = date_field("Eerste datum")
    start_time = TimeField("Begintijd", validators=[InputRequired(REQUIRED)], format="%H:%M")
    duration_minutes = IntegerField("Duur in minuten", validators=[
        InputRequired(REQUIRED), NumberRange(15, 480, "Kies 15 tot 480 minuten.")])
    place = text("Plaats", 200)
    chairs = MultiCheckboxField("Voorzitter(s)", choices=[], validate_choice=True)
    secretary = SelectField("Secretaris", choices=[], validate_choice=True)
    submit = SubmitField("Overleg aanmaken")


class SectionForm(SectionFields):
    submit = SubmitField("Onderdeel toevoegen")


class YearForm(StrictForm):
    year = IntegerField("Jaar", validators=[InputRequired(REQUIRED), NumberRange(2000, 2100, "Kies een jaartal.")])
    submit = SubmitField("Data van dit jaar plannen")


class AttendanceForm(StrictForm):
    section = SelectField("Onderdeel", choices=[], validate_choice=True)
    user = SelectField("Persoon", choices=[], validate_choice=True)
    status = SelectField("Aanwezigheid", choices=_choices(ATTENDANCE_STATES), validate_choice=True)
    submit = SubmitField("Vastleggen")


class GuestForm(StrictForm):
    guest_section = SelectField("Onderdeel", choices=[], validate_choice=True)
    guest_name = text("Naam", 200)
    guest_organisation = text("Organisatie", 200)
    guest_role = text("Rol", 200)
    statement_signed = BooleanField("Geheimhoudingsverklaring is getekend", validators=[Optional()])
    submit = SubmitField("Gast toevoegen")


class AgendaAddForm(StrictForm):
    family = SelectField("Gezin", choices=[], validate_choice=True)
    agenda_section = SelectField("Onderdeel", choices=[], validate_choice=True)
    planned_minutes = IntegerField("Geplande minuten", default=15, validators=[
        InputRequired(REQUIRED), NumberRange(1, 90, "Plan 1 tot 90 minuten.")])
    decision_needed = BooleanField("Er is een besluit nodig", default=True, validators=[Optional()])
    submit = SubmitField("Op de agenda zetten")


def _reason() -> TextAreaField:
    return TextAreaField("Reden", validators=[InputRequired(REQUIRED),
                                              Length(10, 1000, "Gebruik 10 tot 1000 tekens.")])


class DeferForm(StrictForm):
    reason = _reason()
    review_on = date_field("Opnieuw bekijken op")
    submit = SubmitField("Informeren uitstellen")


class AnonymousForm(StrictForm):
    reason = _reason()
    submit = SubmitField("Anoniem bespreken")


class ConsoleForm(StrictForm):
    """Every console step carries the meeting version the chair saw."""

    version = HiddenField(validators=[InputRequired()])
    submit = SubmitField("Uitvoeren")


class DecisionForm(StrictForm):
    version = HiddenField(validators=[InputRequired()])
    kind = SelectField("Besluit", choices=_choices(DECISION_KINDS), validate_choice=True)
    on_date = date_field("Terug op de agenda op", required=False)
    user_id = SelectField("Zorgcoördinator", choices=[], validate_choice=False)
    submit = SubmitField("Besluit vastleggen")


# --- the chair's console: actions, attendance and the order of the agenda ---------------------

class MeetingActionForm(StrictForm):
    """A SMART action for the family on the wall; the checker runs as the chair types (the
    same fields, posted to the console's check endpoint) and again on saving."""

    version = HiddenField(validators=[InputRequired()])
    family = HiddenField(validators=[InputRequired()])
    goal_id = SelectField("Doel", choices=[], validate_choice=False)
    what = TextAreaField("Wat precies", validators=[InputRequired(REQUIRED), Length(max=2000)])
    done_when = TextAreaField("Klaar als …", validators=[InputRequired(REQUIRED), Length(max=2000)])
    owner = SelectField("Eigenaar", choices=[], validate_choice=False)
    due = date_field("Uiterlijk op", required=False)
    due_text = text("Of in woorden (bijv. \"binnen 2 weken\")", 100, required=False)
    agreed_by = SelectField("Akkoord van het gezin gegeven door", choices=_choices(PLAN_AGREEMENT_LABELS),
                            validate_choice=True)
    agreed_on = date_field("Akkoord gegeven op", required=False)
    submit = SubmitField("Actie vastleggen")


class ConsoleAttendanceForm(StrictForm):
    version = HiddenField(validators=[InputRequired()])
    section = HiddenField(validators=[InputRequired()])
    user = HiddenField(validators=[InputRequired()])
    status = SelectField("Aanwezigheid", choices=_choices(ATTENDANCE_STATES), validate_choice=True)
    submit = SubmitField("Vastleggen")


class ItemMoveForm(StrictForm):
    """One item one place up or down (buttons, so the keyboard works as well as the mouse),
    on the meeting page and the console alike. It carries the meeting's version: a double
    click, or a second chair, moves once, not twice."""

    version = HiddenField(validators=[InputRequired()])
    direction = SelectField("Richting", choices=_choices({"op": "Omhoog", "neer": "Omlaag"}), validate_choice=True)
    submit = SubmitField("Verplaatsen")


class OrderForm(StrictForm):
    """A section's whole new order after a drag: the item ids, comma-separated."""

    version = HiddenField(validators=[InputRequired()])
    section = HiddenField(validators=[InputRequired()])
    order = HiddenField(validators=[InputRequired(), Length(max=40 * 200)])
    submit = SubmitField("Volgorde opslaan")
