"""Forms (Flask-WTF: CSRF on every one). Messages are Dutch.

:class:`StrictForm` also refuses fields the form does not define: a request that carries
them was not made by our page, and silently ignoring input hides mistakes and probes.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask import current_app, request
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from netwerk.models import ORG_DOMAINS, ORG_TYPES, RELATIONS, ROLES, TOKEN_SCOPES
from netwerk.models.plans import ACTION_STATES, FAILURE_REASONS
from privacy.models import CONSENT_FORMS, CONSENT_GIVERS, CONSENT_STEPS

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


class PersonalTokenForm(StrictForm):
    """A personal API token: a name, what it may do, how long, confirmed with the password."""

    name = text("Naam (bijvoorbeeld: telefoon of het systeem dat het token gebruikt)", 80)
    scopes = MultiCheckboxField("Toegang", choices=_choices(TOKEN_SCOPES), validate_choice=True,
                                validators=[DataRequired("Kies minstens één soort toegang.")])
    days = SelectField("Geldig", choices=[], validate_choice=True)
    password = PasswordField("Huidig wachtwoord", validators=[InputRequired(REQUIRED), _length(256)])
    submit = SubmitField("Token maken")

    def __init__(self, *args: object, days: tuple[int, ...] = (), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.days.choices = [SelectChoice(str(d), f"{d} dagen") for d in days]
        if days and self.days.data is None:
            self.days.data = str(90 if 90 in days else days[-1])


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



# --- persons, involvements, content -------------------------------------------------------

def date_field(label: str, required: bool = True) -> DateField:
    return DateField(label, validators=[InputRequired(REQUIRED) if required else Optional()],
                     format="%Y-%m-%d")


class BsnField(StringField):
    """Nine digits (eight with a leading zero dropped); the elfproef is the operation's."""

    def pre_validate(self, form: FlaskForm) -> None:
        value = (self.data or "").replace(" ", "").replace(".", "")
        if value and (not value.isdigit() or len(value) not in (8, 9)):
            raise ValidationError("Een BSN bestaat uit 9 cijfers.")
        self.data = value or None


class IdentityForm(StrictForm):
    """Who the person is; ``choice`` answers "is this the same person?" after a warning."""

    first_name = text("Voornaam", 100)
    last_name = text("Achternaam", 100)
    birth_date = date_field("Geboortedatum")
    bsn = BsnField("BSN (als u het heeft)")
    municipality = text("Gemeente", 100, required=False)
    address = text("Adres", 300, required=False)
    safety_flag = BooleanField("Geheim adres / veiligheid: adres nooit tonen en geen gezinsmatch")
    choice = HiddenField()


class ReportForm(IdentityForm):
    contact_name = text("Contactpersoon", 200, minimum=2)
    contact_phone = text("Telefoonnummer contactpersoon", 40, required=False)
    contact_email = email_field("E-mailadres contactpersoon")
    start_date = date_field("Betrokken sinds")
    end_date = date_field("Einddatum (als die vaststaat)", required=False)
    submit = SubmitField("Betrokkenheid melden")


class MemberForm(IdentityForm):
    relation = SelectField("Relatie van deze persoon in het gezin", choices=_choices(RELATIONS))
    anchor_relation = SelectField("Relatie van de huidige persoon (als er nog geen gezin is)",
                                  choices=_choices(RELATIONS), default="kind")
    submit = SubmitField("Gezinslid toevoegen")


class NoteForm(StrictForm):
    category = SelectField("Categorie", choices=[])
    text = TextAreaField("Notitie", validators=[DataRequired(REQUIRED), _length(10_000)])
    submit = SubmitField("Notitie opslaan")


CONSENT_STEP_LABELS = {
    "contact": "Contact", "gezamenlijk_gesprek": "Gezamenlijk gesprek en informanten",
    "voorwaarden": "Werken aan voorwaarden", "plan_bespreken": "Plan bespreken",
    "uitvoering_volgen": "Uitvoering volgen", "delen_met_organisatie": "Delen met organisatie",
}
CONSENT_GIVER_LABELS = {"ouder": "Ouder(s)", "jongere": "Jongere", "ouder_en_jongere": "Ouder(s) én jongere"}
CONSENT_FORM_LABELS = {"mondeling": "Mondeling", "schriftelijk": "Schriftelijk"}


class ConsentForm(StrictForm):
    step = SelectField("Stap", choices=_choices({s: CONSENT_STEP_LABELS[s] for s in CONSENT_STEPS}))
    organisation_id = SelectField("Organisatie (alleen bij 'delen met organisatie')", choices=[],
                                  validate_choice=False)
    given_by = SelectField("Gegeven door", choices=_choices({g: CONSENT_GIVER_LABELS[g] for g in CONSENT_GIVERS}))
    form = SelectField("Vorm", choices=_choices({f: CONSENT_FORM_LABELS[f] for f in CONSENT_FORMS}))
    given_on = date_field("Datum")
    submit = SubmitField("Instemming vastleggen")


class EmergencyForm(StrictForm):
    purpose = SelectField("Doel", choices=[])
    reason = TextAreaField("Reden", validators=[DataRequired(REQUIRED), _length(500, 20)])
    submit = SubmitField("Noodtoegang vragen")


class AcknowledgeForm(StrictForm):
    contact_made_on = date_field("Contact gehad op", required=False)
    regievoerder_org_id = SelectField("Regievoerder", choices=[])
    afgestemd_on = date_field("Afgestemd op", required=False)
    submit = SubmitField("Opslaan")


# --- 1gezin1plan: the plan page (netwerk/views/plans.py) ----------------------------------

PLAN_AGREEMENT_LABELS = {"": "Nog niet", "ouder": "Ouder(s)", "jongere": "Jongere",
                         "ouder_en_jongere": "Ouder(s) én jongere"}


class PlanStartForm(StrictForm):
    coordinator = SelectField("Zorgcoördinator", choices=[])
    submit = SubmitField("Plan starten")


class PlanEditForm(StrictForm):
    family_view = TextAreaField("De visie van het gezin, in hun eigen woorden",
                                validators=[Optional(), _length(5000), NoControlCharacters()])
    strengths = TextAreaField("Krachten", validators=[Optional(), _length(5000), NoControlCharacters()])
    next_evaluation = date_field("Volgende evaluatie", required=False)
    family_agreement_required = BooleanField("Acties vragen akkoord van het gezin")
    version = HiddenField()
    submit = SubmitField("Plan opslaan")


class GoalForm(StrictForm):
    domain = SelectField("Leefgebied", choices=[])
    text = TextAreaField("Doel", validators=[DataRequired(REQUIRED), _length(2000), NoControlCharacters()])
    submit = SubmitField("Doel toevoegen")


class ConcernForm(StrictForm):
    domain = SelectField("Leefgebied", choices=[])
    category = SelectField("Categorie (convenant)", choices=[])
    text = TextAreaField("Zorg", validators=[DataRequired(REQUIRED), _length(2000), NoControlCharacters()])
    submit = SubmitField("Zorg toevoegen")


class NetworkMemberForm(StrictForm):
    kind = SelectField("Soort", choices=[])
    name = text("Naam", 200)
    role = text("Rol in het plan", 500, required=False)
    organisation_id = SelectField("Organisatie (bij een professional)", choices=[], validate_choice=True)
    submit = SubmitField("Aan het netwerk toevoegen")


class ActionForm(StrictForm):
    goal_id = SelectField("Doel", choices=[])
    what = TextAreaField("Wat precies", validators=[DataRequired(REQUIRED), _length(2000)])
    done_when = TextAreaField("Klaar als …", validators=[DataRequired(REQUIRED), _length(2000)])
    # The operation decides who may own an action, with a message that says so.
    owner = SelectField("Eigenaar", choices=[], validate_choice=False)
    due = date_field("Uiterlijk op", required=False)
    due_text = text("Of in woorden (bijv. \"binnen 2 weken\")", 100, required=False)
    agreed_by = SelectField("Akkoord van het gezin gegeven door", choices=_choices(PLAN_AGREEMENT_LABELS))
    agreed_on = date_field("Akkoord gegeven op", required=False)
    submit = SubmitField("Actie toevoegen")


class CoordinatorChangeForm(StrictForm):
    coordinator = SelectField("Nieuwe zorgcoördinator", choices=[])
    reason = TextAreaField("Reden van de overdracht", validators=[DataRequired(REQUIRED), _length(500, 5)])
    submit = SubmitField("Overdragen")


class ActionEditForm(StrictForm):
    goal_id = SelectField("Doel", choices=[])
    what = TextAreaField("Wat precies", validators=[DataRequired(REQUIRED), _length(2000)])
    done_when = TextAreaField("Klaar als …", validators=[DataRequired(REQUIRED), _length(2000)])
    owner = SelectField("Eigenaar", choices=[], validate_choice=False)
    due = date_field("Uiterlijk op")
    version = HiddenField(validators=[InputRequired()])
    submit = SubmitField("Actie opslaan")


class ActionLapseForm(StrictForm):
    reason = TextAreaField("Waarom vervalt de actie?", validators=[DataRequired(REQUIRED), _length(500, 5),
                                                                    NoControlCharacters()])
    version = HiddenField(validators=[InputRequired()])
    submit = SubmitField("Laten vervallen")


# --- Mijn acties and the plan page: one form per action row (netwerk/views/actions.py) -------

class ActionProgressForm(StrictForm):
    """Status and progress, from Mijn acties or the plan page (``next`` leads back there)."""

    version = HiddenField(validators=[InputRequired()])
    status = SelectField("Status", choices=_choices(ACTION_STATES), validators=[InputRequired()])
    failure_reason = SelectField("Reden als niet gelukt", validators=[Optional()],
                                 choices=[SelectChoice("", "—"), *_choices(FAILURE_REASONS)])
    progress = TextAreaField("Voortgang", validators=[Optional()])
    next = HiddenField()
    submit = SubmitField("Opslaan")


class ActionAcceptForm(StrictForm):
    next = HiddenField()
    submit = SubmitField("Accepteren")


class GoalEditForm(StrictForm):
    text = TextAreaField("Doel", validators=[DataRequired(REQUIRED), _length(2000), NoControlCharacters()])
    submit = SubmitField("Doel opslaan")


class GoalAchieveForm(StrictForm):
    achieved_on = date_field("Bereikt op")
    submit = SubmitField("Doel bereikt")


class GoalDropForm(StrictForm):
    reason = TextAreaField("Waarom vervalt het doel?", validators=[DataRequired(REQUIRED), _length(500, 5),
                                                                    NoControlCharacters()])
    submit = SubmitField("Doel laten vervallen")


class PlanEvaluationForm(StrictForm):
    held_on = date_field("Evaluatie gehouden op")
    summary = TextAreaField("Wat kwam eruit", validators=[DataRequired(REQUIRED), _length(5000),
                                                          NoControlCharacters()])
    next_evaluation = date_field("Volgende evaluatie")
    submit = SubmitField("Evaluatie vastleggen")


class PlanCloseForm(StrictForm):
    reason = TextAreaField("Reden van afsluiten", validators=[DataRequired(REQUIRED), _length(500, 5),
                                                              NoControlCharacters()])
    lapse_open = BooleanField("Open acties laten vervallen")
    submit = SubmitField("Plan afsluiten")
