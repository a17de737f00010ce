"""Forms of the privacy officer's covenant editor. Every submit makes one new version.

The rule matrix and the party list have a field per receiver, category or party, so their
form classes are built per request from the base version: the posted names must be exactly
the ones the page showed (:class:`~netwerk.forms.StrictForm` refuses any other), and every
shown field must come back, so a partial post cannot pass for "unchanged".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import request
from wtforms import (
    DateField,
    Field,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from netwerk.forms import REQUIRED, StrictForm, text

LEGAL_BASIS_LABELS = {
    "toestemming": "Toestemming",
    "wettelijke_taak": "Wettelijke taak",
    "gerechtvaardigd_belang": "Gerechtvaardigd belang",
    "vitaal_belang": "Vitaal belang",
}
CONSENT_STEP_LABELS = {
    "contact": "Contact",
    "gezamenlijk_gesprek": "Gezamenlijk gesprek en informanten",
    "voorwaarden": "Werken aan voorwaarden",
    "plan_bespreken": "Plan bespreken",
    "uitvoering_volgen": "Uitvoering volgen",
    "delen_met_organisatie": "Delen met organisatie",
}

# Posted values of the "Toegestaan" select; "type" only for a single organisation's row.
ALLOWED_CHOICES = {"ja": "Ja", "nee": "Nee"}
FOLLOW_TYPE = {"type": "Volgt type"}
CELL_PARTS = ("toegestaan", "grondslag", "stap", "artikel")


def _choices(labels: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


def _optional_date(label: str) -> DateField:
    return DateField(label, validators=[Optional()], format="%Y-%m-%d")


class CompleteForm(StrictForm):
    """A StrictForm whose every field (buttons aside) must be in the post."""

    def validate(self, extra_validators: dict | None = None) -> bool:
        valid = super().validate(extra_validators)
        expected = {f.name for f in self if f.type not in ("SubmitField", "CSRFTokenField")}
        if request and request.method == "POST" and expected - set(request.form):
            self.form_errors.append("Het formulier is onvolledig verstuurd. Laad de pagina opnieuw.")
            return False
        return valid


class NewVersionForm(CompleteForm):
    """What every new version states about itself."""

    version = text("Versiecode", 32)
    title = text("Titel", 200, minimum=2)
    valid_from = DateField("Geldig vanaf", validators=[InputRequired(REQUIRED)], format="%Y-%m-%d")
    valid_until = _optional_date("Geldig tot en met (leeg: geen einddatum)")
    involvement_max_years = IntegerField(
        "Betrokkenheid: hoogstens aantal jaren (leeg: standaardinstelling)",
        validators=[Optional(), NumberRange(1, 10, message="Kies 1 tot en met 10 jaar.")])
    involvement_age_limit = IntegerField(
        "Betrokkenheid: leeftijdsgrens in jaren (leeg: standaardinstelling)",
        validators=[Optional(), NumberRange(12, 30, message="Kies een leeftijd van 12 tot en met 30 jaar.")])
    # The newest version id when the page was shown: if someone adds a version meanwhile,
    # this submit would silently drop their change, so it is refused instead.
    newest = HiddenField()
    submit = SubmitField("Nieuwe versie vaststellen")

    def validate_version(self, field: Field) -> None:
        Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
               message="Gebruik letters, cijfers, punten en streepjes (geen spaties).")(self, field)


# --- the rule matrix of one purpose ---------------------------------------------------------

@dataclass(frozen=True)
class Row:
    receiver: str  # "org:<uuid>" or "type:<org type>"
    label: str  # the organisation type's or the organisation's name

    @property
    def kind(self) -> str:
        return "eigen regel" if self.receiver.startswith("org:") else "alle partijen van dit type"


def cell_name(receiver: str, category: str, part: str) -> str:
    return f"{receiver}|{category}|{part}"


class RuleMatrixForm(NewVersionForm):
    rows: list[Row] = []
    categories: dict[str, tuple[str, bool, bool]] = {}
    attributes: dict[str, str] = {}  # posted name -> attribute of the field

    def cell(self, receiver: str, category: str, part: str) -> Field:
        return self[self.attributes[cell_name(receiver, category, part)]]

    def validate(self, extra_validators: dict | None = None) -> bool:
        valid = super().validate(extra_validators)
        for row in self.rows:
            for category in self.categories:
                if self.cell(row.receiver, category, "toegestaan").data != "ja":
                    continue
                if not self.cell(row.receiver, category, "grondslag").data:
                    self.cell(row.receiver, category, "grondslag").errors.append(
                        "Kies een grondslag: delen is hier toegestaan.")
                    valid = False
                if not self.cell(row.receiver, category, "artikel").data:
                    self.cell(row.receiver, category, "artikel").errors.append("Noem het artikel.")
                    valid = False
        return valid


def rule_matrix_form(rows: list[Row], categories: dict[str, tuple[str, bool, bool]]) -> type[RuleMatrixForm]:
    """A form class with four fields per (receiver, category): allowed, basis, step, article."""
    attributes: dict[str, str] = {}
    fields: dict[str, object] = {"rows": rows, "categories": categories, "attributes": attributes}
    n = 0
    for row in rows:
        allowed = ({**FOLLOW_TYPE, **ALLOWED_CHOICES} if row.receiver.startswith("org:") else ALLOWED_CHOICES)
        for category, (category_label, _, _) in categories.items():
            n += 1
            where = f"{row.label} ({row.kind}), {category_label}"
            fields[f"cell_{n}_allowed"] = SelectField(
                f"Toegestaan ({where})", choices=_choices(allowed), validate_choice=True,
                name=cell_name(row.receiver, category, "toegestaan"), id=f"cel-{n}-toegestaan")
            fields[f"cell_{n}_basis"] = SelectField(
                f"Grondslag ({where})", choices=_choices({"": "—", **LEGAL_BASIS_LABELS}), validate_choice=True,
                name=cell_name(row.receiver, category, "grondslag"), id=f"cel-{n}-grondslag")
            fields[f"cell_{n}_step"] = SelectField(
                f"Instemmingsstap ({where})", choices=_choices({"": "Geen", **CONSENT_STEP_LABELS}),
                validate_choice=True, name=cell_name(row.receiver, category, "stap"), id=f"cel-{n}-stap")
            article = text(f"Artikel ({where})", 32, required=False)
            article.name = cell_name(row.receiver, category, "artikel")  # an UnboundField until bound
            article.kwargs["id"] = f"cel-{n}-artikel"
            fields[f"cell_{n}_article"] = article
            for attribute, part in (("allowed", "toegestaan"), ("basis", "grondslag"), ("step", "stap"),
                                    ("article", "artikel")):
                attributes[cell_name(row.receiver, category, part)] = f"cell_{n}_{attribute}"
    return type("RuleMatrixFormForPurpose", (RuleMatrixForm,), fields)  # type: ignore[return-value]


# --- parties ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PartyRow:
    organisation_id: str
    label: str
    joined_on: date


def leaving_name(organisation_id: str) -> str:
    return f"vertrek|{organisation_id}"


class PartiesForm(NewVersionForm):
    parties: list[PartyRow] = []
    joined_on = _optional_date("Toegetreden op (leeg: de eerste dag van de nieuwe versie)")

    attributes: dict[str, str] = {}  # posted name -> attribute of the field

    def leaving(self, organisation_id: str) -> Field:
        return self[self.attributes[leaving_name(organisation_id)]]


def parties_form(parties: list[PartyRow], candidates: list[SelectChoice]) -> type[PartiesForm]:
    """A form class with a leaving date per party and a select for one organisation joining."""
    attributes: dict[str, str] = {}
    fields: dict[str, object] = {"parties": parties, "attributes": attributes}
    for n, party in enumerate(parties, start=1):
        attributes[leaving_name(party.organisation_id)] = f"leaving_{n}"
        fields[f"leaving_{n}"] = DateField(f"Vertrokken op ({party.label})", validators=[Optional()],
                                           format="%Y-%m-%d", name=leaving_name(party.organisation_id),
                                           id=f"vertrek-{n}")
    fields["joining"] = SelectField("Organisatie die toetreedt",
                                    choices=[SelectChoice("", "— geen —"), *candidates], validate_choice=True)
    return type("PartiesFormForVersion", (PartiesForm,), fields)  # type: ignore[return-value]


# --- retention periods (a new version) and data subjects' requests ---------------------------

RETENTION_KIND_CHOICES = {"": "— geen —", "betrokkenheid": "Registratie van betrokkenheid", "notitie": "Notities",
                          "plan": "Plannen", "agendapunt": "Agendapunten", "persoon": "Personen"}


class RetentionForm(NewVersionForm):
    """The header plus one row per period: kind, category or purpose ("*": all), months and
    the grounds. A row without a kind or without months is dropped (that removes a period)."""

    count: int = 0
    rows = HiddenField(name="regels")  # how many rows the page showed

    def row(self, n: int, part: str) -> Field:
        return self[f"row_{n}_{part}"]


def retention_form(count: int, categories: dict[str, str], purposes: dict[str, str]) -> type[RetentionForm]:
    fields: dict[str, object] = {"count": count}
    for n in range(1, count + 1):
        fields[f"row_{n}_kind"] = SelectField(f"Soort gegevens (regel {n})", choices=_choices(RETENTION_KIND_CHOICES),
                                              validate_choice=True, name=f"termijn-{n}-soort", id=f"termijn-{n}-soort")
        fields[f"row_{n}_category"] = SelectField(
            f"Categorie (regel {n}, alleen bij notities)", choices=_choices({"*": "Alle", **categories}),
            validate_choice=True, name=f"termijn-{n}-categorie", id=f"termijn-{n}-categorie")
        fields[f"row_{n}_purpose"] = SelectField(
            f"Doel (regel {n}, alleen bij agendapunten)", choices=_choices({"*": "Alle", **purposes}),
            validate_choice=True, name=f"termijn-{n}-doel", id=f"termijn-{n}-doel")
        fields[f"row_{n}_months"] = IntegerField(
            f"Maanden (regel {n})", validators=[Optional(), NumberRange(1, 1200, message="Kies 1 tot en met 1200.")],
            name=f"termijn-{n}-maanden", id=f"termijn-{n}-maanden")
        grounds = text(f"Toelichting en grondslag (regel {n})", 1000, required=False)
        grounds.name = f"termijn-{n}-toelichting"  # an UnboundField until bound
        grounds.kwargs["id"] = f"termijn-{n}-toelichting"
        fields[f"row_{n}_grounds"] = grounds
    return type("RetentionFormForVersion", (RetentionForm,), fields)  # type: ignore[return-value]


class RequestForm(StrictForm):
    kind = SelectField("Soort verzoek", choices=_choices({"wissen": "Wissen (art. 17 AVG)",
                                                          "rectificatie": "Rectificatie (art. 16 AVG)"}),
                       validate_choice=True, name="soort")
    person = StringField("Persoon: BSN of persoonsnummer (uit het auditlog)", name="persoon")
    received_on = DateField("Ontvangen op", validators=[Optional()], format="%Y-%m-%d", name="ontvangen_op")
    requester = StringField("Verzoeker (naam en relatie tot de persoon)", name="verzoeker")
    asked = TextAreaField("Wat wordt er gevraagd", name="gevraagd")
    submit = SubmitField("Verzoek registreren")


class DecisionForm(StrictForm):
    decision = SelectField("Beslissing", choices=_choices({"": "— kies —", "toegewezen": "Toegewezen",
                                                           "gedeeltelijk": "Gedeeltelijk toegewezen",
                                                           "afgewezen": "Afgewezen"}),
                           validate_choice=True, name="beslissing")
    reason = TextAreaField("Reden van de beslissing (verplicht)", name="reden")
    submit = SubmitField("Beslissing vastleggen")


class RouteForm(StrictForm):
    organisations = SelectMultipleField("Organisaties die de gegevens moeten corrigeren", choices=[],
                                        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
                                        name="organisaties")
    submit = SubmitField("Taken uitzetten")


class TaskForm(StrictForm):
    outcome = SelectField("Uitkomst", choices=_choices({"gecorrigeerd": "Gegevens gecorrigeerd",
                                                        "niet_nodig": "Niet nodig: de gegevens kloppen"}),
                          validate_choice=True, name="uitkomst")
    submit = SubmitField("Afgehandeld")
