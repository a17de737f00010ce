"""Forms of overleggen and meetings (Flask-WTF, Dutch messages, unknown fields refused)."""

from __future__ import annotations

from wtforms import BooleanField, HiddenField, IntegerField, SelectField, SubmitField, TextAreaField, TimeField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from meetings.models import ATTENDANCE_STATES, DECISION_KINDS, OVERLEG_KINDS
from netwerk.forms import REQUIRED, MultiCheckboxField, StrictForm, _choices, date_field, text


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


class MoveForm(StrictForm):
    direction = SelectField("Richting", choices=_choices({"op": "Omhoog", "neer": "Omlaag"}), validate_choice=True)
    submit = SubmitField("Verplaatsen")


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
