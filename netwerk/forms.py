"""Forms (Flask-WTF: CSRF on every one). Messages are Dutch.

:class:`StrictForm` also refuses fields the form does not define: a request that carries
them was not made by our page, and silently ignoring input hides mistakes and probes.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask import current_app, request
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from netwerk.models import ORG_DOMAINS, ORG_TYPES, ROLES

REQUIRED = "Dit veld is verplicht."


def _choices(labels: dict[str, str]) -> list[SelectChoice]:
    # WTForms 3.3 deprecates (value, label) tuples, and the suite turns warnings into errors.
    return [SelectChoice(value, label) for value, label in labels.items()]


def _length(maximum: int, minimum: int = 0) -> Length:
    if minimum:
        return Length(min=minimum, max=maximum, message=f"Gebruik {minimum} tot {maximum} tekens.")
    return Length(max=maximum, message=f"Gebruik hoogstens {maximum} tekens.")


class StrictForm(FlaskForm):
    class Meta:
        # WTForms ships Dutch messages for its built-in checks ("Geen geldige keuze", ...).
        locales = ("nl",)

    def validate(self, extra_validators: dict | None = None) -> bool:
        valid = super().validate(extra_validators)
        known = {f.name for f in self} | {"csrf_token"}
        unknown = sorted(set(request.form) - known) if request else []
        if unknown:
            self.form_errors.append("Het formulier bevat onbekende velden: " + ", ".join(unknown[:5]) + ".")
            return False
        return valid


class EmailAddress:
    """Syntax check with email-validator. In demo mode and tests the reserved ``.test``
    domain is allowed, since the demo region must not use anybody's real domain."""

    def __call__(self, form: FlaskForm, field: StringField) -> None:
        if not field.data:
            return
        try:
            validate_email(field.data, check_deliverability=False,
                           test_environment=bool(current_app.config["DEMO_MODE"] or current_app.testing))
        except EmailNotValidError as exc:
            raise ValidationError("Vul een geldig e-mailadres in.") from exc


class NoControlCharacters:
    """Text fields take printable text only (no NUL or other control characters)."""

    def __call__(self, form: FlaskForm, field: StringField) -> None:
        value = field.data or ""
        if any(ord(ch) < 32 and ch not in "\t" for ch in value):
            raise ValidationError("Dit veld bevat ongeldige tekens.")


def text(label: str, maximum: int, required: bool = True, minimum: int = 1) -> StringField:
    checks = [DataRequired(REQUIRED) if required else Optional(), _length(maximum, minimum if required else 0),
              NoControlCharacters()]
    return StringField(label, validators=checks, filters=[lambda v: v.strip() if isinstance(v, str) else v])


def email_field(label: str = "E-mailadres") -> EmailField:
    return EmailField(label, validators=[
        DataRequired(REQUIRED), _length(254), EmailAddress(),
    ], filters=[lambda v: v.strip().lower() if isinstance(v, str) else v])


class LoginForm(StrictForm):
    email = email_field()
    password = PasswordField("Wachtwoord", validators=[InputRequired(REQUIRED), _length(256)])
    submit = SubmitField("Inloggen")


class CodeForm(StrictForm):
    code = StringField("Code uit uw authenticator-app", validators=[
        InputRequired(REQUIRED), Length(min=6, max=7, message="Vul de code van 6 cijfers in."),
    ])
    submit = SubmitField("Bevestigen")


class PasswordChangeForm(StrictForm):
    current_password = PasswordField("Huidig wachtwoord", validators=[InputRequired(REQUIRED), _length(256)])
    new_password = PasswordField("Nieuw wachtwoord", validators=[InputRequired(REQUIRED), _length(256)])
    repeat_password = PasswordField("Herhaal nieuw wachtwoord", validators=[InputRequired(REQUIRED), _length(256)])
    submit = SubmitField("Wachtwoord wijzigen")

    def validate_repeat_password(self, field: PasswordField) -> None:
        if field.data != self.new_password.data:
            raise ValidationError("De twee nieuwe wachtwoorden zijn niet gelijk.")


class DisableTwoFactorForm(StrictForm):
    password = PasswordField("Wachtwoord", validators=[InputRequired(REQUIRED), _length(256)])
    submit = SubmitField("Tweestapsverificatie uitzetten")


class ConfirmForm(StrictForm):
    """A bare POST with CSRF token: logout, (de)activate, reset."""

    submit = SubmitField("Bevestigen")


class OrganisationForm(StrictForm):
    name = text("Naam", 200, minimum=2)
    org_type = SelectField("Type", choices=_choices(ORG_TYPES),
                           validate_choice=True)
    domain = SelectField("Domein", choices=_choices(ORG_DOMAINS), validate_choice=True)
    email = EmailField("E-mailadres (algemeen)", validators=[
        Optional(), _length(254), EmailAddress()])
    phone = text("Telefoonnummer", 40, required=False)
    address = text("Adres", 300, required=False)
    submit = SubmitField("Opslaan")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserForm(StrictForm):
    name = text("Naam", 200, minimum=2)
    email = email_field()
    phone = text("Telefoonnummer", 40, required=False)
    organisation_id = SelectField("Organisatie", choices=[], validate_choice=True)
    roles = MultiCheckboxField("Rollen", choices=_choices(ROLES), validate_choice=True)
    submit = SubmitField("Opslaan")

    def validate_roles(self, field: MultiCheckboxField) -> None:
        if not field.data:
            raise ValidationError("Kies minstens één rol.")

