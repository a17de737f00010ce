"""Forms of the escalation screens (Flask-WTF: CSRF on every one, Dutch messages, unknown
fields refused). Each lifecycle step carries the version the viewer saw, so a step taken
on a stale page is refused instead of overwriting someone else's."""

from __future__ import annotations

from wtforms import BooleanField, Field, HiddenField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from escalation.models import REASON_CATEGORIES, RECIPIENT_SCOPES
from netwerk.forms import REQUIRED, StrictForm, _choices
from netwerk.models import ROLES

ASK_MAX, DECISION_MAX, NOTE_MAX = 1000, 2000, 1000


def _printable(form: StrictForm, field: Field) -> None:
    """Line breaks are fine in a text area; NUL and other control characters are not
    (PostgreSQL refuses NUL in text, which would surface as a 500)."""
    if any(ord(ch) < 32 and ch not in "\t\r\n" for ch in field.data or ""):
        raise ValidationError("Dit veld bevat ongeldige tekens.")


def _text(label: str, maximum: int) -> TextAreaField:
    return TextAreaField(label, validators=[
        DataRequired(REQUIRED), Length(max=maximum, message=f"Gebruik hoogstens {maximum} tekens."),
        _printable], filters=[lambda v: v.strip() if isinstance(v, str) else v])


class StepForm(StrictForm):
    """A step without input of its own (ontvangen): the version seen, and the button."""

    version = HiddenField()
    submit = SubmitField("Bevestigen")


class RaiseForm(StepForm):
    reason_category = SelectField("Reden", choices=_choices(REASON_CATEGORIES), validate_choice=True)
    ask = _text("Wat vraagt u van de ontvanger? (geen inhoud uit het dossier)", ASK_MAX)
    submit = SubmitField("Opschalen")


class DecideForm(StepForm):
    decision = _text("Besluit", DECISION_MAX)
    submit = SubmitField("Besluit vastleggen")


class NoteForm(StepForm):
    """Resolve, step down or dismiss: with a short note why."""

    note = _text("Toelichting", NOTE_MAX)


# --- the ladder and the rules of an overleg (the chair's settings) ---------------------------

RECIPIENT_ROLES = {code: label for code, label in ROLES.items() if code not in {"beheerder", "privacy"}}
PARAM_LABELS = {"days": "Aantal dagen", "meetings": "Aantal overleggen", "agendas": "Aantal agenda's",
                "times": "Aantal keer"}


class LevelForm(StrictForm):
    name = StringField("Naam van het niveau", validators=[
        DataRequired(REQUIRED), Length(min=3, max=120, message="Gebruik 3 tot 120 tekens."), _printable],
        filters=[lambda v: v.strip() if isinstance(v, str) else v])
    recipient_role = SelectField("Wie ontvangt het (rol)", choices=_choices(RECIPIENT_ROLES), validate_choice=True)
    recipient_scope = SelectField("Bij welke organisatie", choices=_choices(RECIPIENT_SCOPES), validate_choice=True)
    recipient_organisation_id = SelectField("Vaste organisatie (alleen bij “een vaste organisatie”)",
                                            validate_choice=True)
    deadline_working_days = IntegerField("Reactietermijn in werkdagen", validators=[
        InputRequired(REQUIRED), NumberRange(min=1, max=120, message="De termijn is 1 tot en met 120 werkdagen.")])
    submit = SubmitField("Niveau opslaan")


class RuleForm(StrictForm):
    enabled = BooleanField("Deze regel staat aan")
    submit = SubmitField("Regel opslaan")


def rule_form(code: str, params: dict[str, int], **kwargs: object) -> RuleForm:
    """A rule's form with one whole-number field per parameter it has (rules differ)."""
    fields = {key: IntegerField(PARAM_LABELS.get(key, key), validators=[
        InputRequired(REQUIRED), NumberRange(min=0, max=365, message="Een heel getal van 0 tot en met 365.")])
        for key in params}
    return type(f"RuleForm_{code}", (RuleForm,), fields)(prefix=f"regel-{code}", **kwargs)
