"""The SMART checker (issue 4): a table of Dutch action texts from youth-care practice with
their expected verdict, the date phrases, region word lists, Dutch messages, and robustness.
Pure functions: no app, no database."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netwerk.smart import (
    DEFAULT_WORDS_FILE,
    MAX_TEXT,
    MONTHS,
    ActionDraft,
    Verdict,
    check,
    load_word_lists,
    parse_due,
)

TODAY = date(2026, 11, 23)  # a Monday
EVALUATION = date(2027, 1, 15)
OK: frozenset[str] = frozenset()


def draft(what: str, done_when: str, owner: str | None = "Moeder", due_text: str | None = "binnen 2 weken",
          **changes: object) -> ActionDraft:
    base = ActionDraft(what=what, done_when=done_when, owner_label=owner, goal_id=7, due=None, due_text=due_text,
                       owner_accepted=True, family_agreement_required=False, family_agreed=False, today=TODAY,
                       next_evaluation=EVALUATION)
    return replace(base, **changes)


def codes(*names: str) -> frozenset[str]:
    return frozenset(names)


# (owner, what, klaar als, due as typed, expected blocking codes; OK means the action is saved)
CASES = [
    # --- good actions: school attendance
    ("Mentor J. Bakker", "Belt de leerplichtambtenaar over het verzuim van Sam",
     "Er staat een datum voor een gesprek met de leerplichtambtenaar", "binnen 2 weken", OK),
    ("Leerplichtambtenaar", "Nodigt moeder en Sam uit voor een verzuimgesprek",
     "Het gesprek heeft plaatsgevonden en er zijn afspraken over aanwezigheid vastgelegd", "binnen 3 werkdagen", OK),
    ("Sam", "Gaat elke schooldag om 8.15 uur naar school",
     "Sam heeft in december minder dan twee keer ongeoorloofd verzuim", "eind volgende maand", OK),
    ("Mentor", "Houdt de aanwezigheid van Sam in de gaten",  # vague, but the criterion makes it measurable
     "Sam is zes weken lang elke schooldag aanwezig volgens het leerlingvolgsysteem", "15-01-2027", OK),
    ("Zorgcoördinator", "Stimuleert Sam om naar school te gaan",
     "Sam is vier weken op rij elke dag op school geweest", "volgende week", OK),
    # --- good actions: debts and income
    ("Moeder", "Meldt zich aan bij de gemeentelijke schuldhulpverlening",
     "Er is een intakedatum bij de Kredietbank", "7-12-2026", OK),
    ("Wijkcoach Fatima", "Vraagt bijzondere bijstand aan voor de schoolspullen",
     "De aanvraag staat in het systeem van de gemeente met een zaaknummer", "over 10 dagen", OK),
    ("Schuldhulpverlener", "Vraagt bij de Belastingdienst kwijtschelding aan",
     "De Belastingdienst heeft het verzoek ontvangen en een kenmerk gegeven", "binnen een maand", OK),
    ("Moeder", "Ruimt samen met de gezinscoach de post op",
     "Alle openstaande rekeningen liggen gesorteerd in één map", "overmorgen", OK),
    ("Wijkcoach", "Ondersteunt moeder bij het invullen van de toeslagenaanvraag",  # vague, with criterion
     "De aanvraag huurtoeslag is verstuurd en moeder heeft de bevestiging", "2026-12-11", OK),
    ("Vader", "Als de uitkering binnen is, betaalt vader de eerste termijn aan de Kredietbank",
     "Het bankafschrift toont de betaling", "eind van de maand", OK),
    ("Moeder", "Belt, samen met de gezinscoach, het energiebedrijf over de afsluiting",
     "Er is een schriftelijke betaalafspraak en de stroom blijft aan", "morgen", OK),
    # --- good actions: GGZ, health, parenting
    ("Vader", "Maakt een afspraak met de huisarts voor een verwijzing naar de GGZ",
     "De verwijsbrief van de huisarts is binnen bij de GGZ", "vrijdag", OK),
    ("GGZ-behandelaar", "Plant de intake voor Sam bij Jeugd-GGZ",
     "Sam en moeder hebben een uitnodiging met datum en tijd ontvangen", "maandag 7 december 2026", OK),
    ("Opvoedondersteuner", "Geeft moeder drie huisbezoeken over vaste bedtijden",
     "Moeder heeft een bedtijdschema op de koelkast en het wordt een week gevolgd", "7 jan", OK),
    ("Vader", "Volgt de cursus Stevig Ouderschap",  # vague verb, measurable criterion
     "Vader heeft minstens 6 van de 8 bijeenkomsten bijgewoond", "15 januari 2027", OK),
    ("Moeder", "Regelt het eten en het drinken voor de kinderen in het weekend",
     "Er hangt een weekmenu en de boodschappen zijn in huis", "deze week", OK),
    ("Moeder", "Brengt brood en beleg mee naar school voor de lunch van Sam",
     "Sam heeft elke schooldag een lunchpakket bij zich", "volgende week", OK),
    # --- good actions: housing, police and probation, informal network
    ("Consulent Woonstichting", "Stelt een betalingsregeling voor de huurachterstand op",
     "Moeder heeft de regeling ondertekend en de eerste termijn is betaald", "eind van de maand", OK),
    ("Jongerencoach", "Gaat met Dennis naar het UWV voor de inschrijving als werkzoekende",
     "Dennis heeft een klantnummer van het UWV", "binnen twee weken", OK),
    ("Reclasseringswerker", "Bespreekt de meldplicht met Dennis",
     "Dennis heeft de meldagenda voor januari ondertekend", "over 10 dagen", OK),
    ("Wijkagent", "Spreekt Dennis aan op de overlast rond het winkelcentrum",
     "Het gesprek staat in het politiesysteem en Dennis kent de afspraken", "morgen", OK),
    ("Buurvrouw Els", "Haalt de kinderen op dinsdag en donderdag op van school",
     "Moeder kan op die middagen naar haar werk en er is in december geen ophaalmoment gemist", "volgende week", OK),
    ("Centrum voor Jeugd en Gezin", "Plant een consult bij de jeugdverpleegkundige",
     "Er staat een consult in de agenda van het consultatiebureau", "binnen 3 weken", OK),
    # --- S: owner
    ("Iedereen", "Houdt de situatie in de gaten", "", "",
     codes("group_owner", "vague_verb", "no_criterion", "no_due_date")),
    ("Team", "Belt de school", "School is gebeld", "binnen 2 weken", codes("group_owner", "criterion_restates_action")),
    ("Wij", "Zoeken een dagbestedingsplek voor Dennis", "Dennis heeft een startdatum bij een werkplaats",
     "binnen een maand", codes("group_owner")),
    ("allen", "Nemen contact op met de woningcorporatie", "Er is een datum voor een huisbezoek", "morgen",
     codes("group_owner")),
    ("School en CJG", "Organiseren een overleg met moeder", "Er staat een datum in ieders agenda", "volgende week",
     codes("group_owner")),
    ("Moeder en vader", "Melden Sam aan bij de sportclub", "Sam heeft een lidmaatschapspas", "binnen 2 weken",
     codes("two_owners")),
    ("", "Belt de GGZ voor een intake", "Er is een intakedatum", "binnen 2 weken", codes("no_owner")),
    ("n.t.b.", "Vraagt een indicatie voor dagbesteding aan", "De indicatie is afgegeven door de gemeente",
     "binnen 3 weken", codes("group_owner")),
    # --- S: vague verbs without a criterion, and two actions in one item
    ("Mentor", "Monitort de schoolgang", "", "binnen 2 weken", codes("vague_verb", "no_criterion")),
    ("Moeder", "Probeert de post bij te houden", "", "binnen 2 weken", codes("vague_verb", "no_criterion")),
    ("Jeugdconsulent", "Kijkt of een logeeradres mogelijk is", "", "over 10 dagen",
     codes("vague_verb", "no_criterion")),
    ("Reclasseringswerker", "Zorgt ervoor dat Dennis zich aan zijn meldplicht houdt", "", "volgende week",
     codes("vague_verb", "no_criterion")),
    ("Wijkagent", "Heeft aandacht voor de overlast rond de woning", "", "binnen 2 weken",
     codes("vague_verb", "no_criterion")),
    ("Wijkcoach", "Begeleidt het gezin", "Het gezin is begeleid", "binnen 2 weken",
     codes("vague_verb", "criterion_restates_action")),
    ("Moeder", "Belt school en regelt een afspraak met de huisarts", "Er is een datum bij de huisarts",
     "binnen 2 weken", codes("two_actions")),
    ("Consulent Werk en Inkomen", "Vraagt de uitkering aan, daarna meldt hij Dennis aan bij de schuldhulp",
     "Dennis heeft een uitkering en een intakedatum", "binnen 3 weken", codes("two_actions")),
    ("Jeugdarts", "Verwijst Sam door naar de Jeugd-GGZ en informeert de huisarts",
     "De Jeugd-GGZ heeft de aanmelding bevestigd", "binnen 2 weken", codes("two_actions")),
    ("Mentor", "Gaat school bellen en een gesprek plannen met moeder", "Er staat een gesprek in de agenda",
     "binnen 2 weken", codes("two_actions")),
    # --- M: criterion
    ("Moeder", "Belt de GGZ voor een intake", "klaar als het gedaan is", "binnen 2 weken", codes("no_criterion")),
    ("Mentor", "Plant een gesprek met moeder", "Het gesprek met moeder is gepland", "binnen 2 weken",
     codes("criterion_restates_action")),
    ("Moeder", "Belt de mentor", "Moeder heeft de mentor gebeld", "morgen", codes("criterion_restates_action")),
    ("Moeder", "Meldt zich aan bij schuldhulpverlening", "Moeder is aangemeld bij schuldhulpverlening",
     "binnen 2 weken", codes("criterion_restates_action")),
    # --- T: due date
    ("Moeder", "Belt de woningcorporatie over de huurachterstand", "Er is een betalingsregeling afgesproken",
     "asap", codes("vague_date")),
    ("Moeder", "Levert de loonstroken in bij de schuldhulpverlener",
     "De schuldhulpverlener bevestigt dat het dossier compleet is", "z.s.m.", codes("vague_date")),
    ("Vader", "Schrijft Sam in bij de voetbalclub", "Sam heeft zijn eerste training gehad", "vóór de zomer",
     codes("vague_date")),
    ("Moeder", "Vraagt de huurtoeslag aan", "De Belastingdienst heeft de aanvraag bevestigd", "1-11-2026",
     codes("due_in_past")),
    ("GGZ-behandelaar", "Plant een evaluatiegesprek met Sam", "Er staat een datum in de agenda",
     "binnen 3 maanden", codes("due_after_evaluation")),
    ("Mentor", "Belt de ouders over het rapport", "Er is een datum voor het oudergesprek", "ergens in de loop van",
     codes("unparsable_date")),
]


@pytest.mark.parametrize(("owner", "what", "done_when", "due_text", "expected"), CASES,
                         ids=[f"{i:02d}-{case[1][:30]}" for i, case in enumerate(CASES)])
def test_table_of_action_texts(owner: str, what: str, done_when: str, due_text: str,
                               expected: frozenset[str]) -> None:
    verdict = check(draft(what, done_when, owner, due_text))
    assert verdict.blocking_codes == expected, [f.message for f in verdict.findings]
    assert verdict.ok is (expected == OK)
    assert all(f.letter in "SMART" and f.message for f in verdict.findings)


def test_the_table_is_big_and_balanced() -> None:
    assert len(CASES) >= 40
    good = [case for case in CASES if case[-1] == OK]
    assert 15 <= len(good) <= len(CASES) - 15


# ---------------------------------------------------------------------------- A and R

def test_no_goal_blocks() -> None:
    verdict = check(draft("Belt de GGZ voor een intake", "Er is een intakedatum", goal_id=None))
    assert verdict.blocking_codes == {"no_goal"}
    assert verdict.blocking[0].letter == "R"


def test_owner_not_yet_accepted_is_advice() -> None:
    verdict = check(draft("Belt de GGZ voor een intake", "Er is een intakedatum", owner_accepted=False))
    assert verdict.ok
    assert "not_accepted" in {f.code for f in verdict.advice}


def test_family_agreement_blocks_only_where_the_plan_asks_for_it() -> None:
    base = draft("Belt de GGZ voor een intake", "Er is een intakedatum")
    assert check(base).ok
    assert check(replace(base, family_agreement_required=True)).blocking_codes == {"no_family_agreement"}
    assert check(replace(base, family_agreement_required=True, family_agreed=True)).ok


def test_owner_marked_as_group_or_person_by_the_caller() -> None:
    base = draft("Belt de GGZ voor een intake", "Er is een intakedatum", owner="Wijkteam Noord")
    assert check(base).blocking_codes == {"group_owner"}
    assert check(replace(base, owner_is_group=False)).ok
    assert check(replace(base, owner_label="J. de Vries", owner_is_group=True)).blocking_codes == {"group_owner"}


def test_vague_verb_with_criterion_is_advice_naming_the_word() -> None:
    verdict = check(draft("Mentor monitort de schoolgang", "Sam is vier weken elke dag op school"))
    assert verdict.ok
    [advice] = [f for f in verdict.advice if f.code == "vague_verb"]
    assert '"monitort"' in advice.message


# ---------------------------------------------------------------------------- T: dates

RELATIVE = [
    ("binnen 2 weken", date(2026, 12, 7)),
    ("Binnen 2 Weken.", date(2026, 12, 7)),
    ("binnen twee weken", date(2026, 12, 7)),
    ("binnen drie dagen", date(2026, 11, 26)),
    ("over 10 dagen", date(2026, 12, 3)),
    ("uiterlijk over 10 dagen", date(2026, 12, 3)),
    ("in 1 week", date(2026, 11, 30)),
    ("2 weken", date(2026, 12, 7)),
    ("binnen 5 werkdagen", date(2026, 11, 30)),
    ("volgende week", date(2026, 12, 4)),  # the Friday of next week
    ("komende week", date(2026, 12, 4)),
    ("volgende week woensdag", date(2026, 12, 2)),
    ("deze week", date(2026, 11, 27)),
    ("vandaag", TODAY),
    ("morgen", date(2026, 11, 24)),
    ("overmorgen", date(2026, 11, 25)),
    ("vrijdag", date(2026, 11, 27)),
    ("komende maandag", date(2026, 11, 30)),
    ("vrijdag a.s.", date(2026, 11, 27)),
    ("eind van de maand", date(2026, 11, 30)),
    ("einde van de maand", date(2026, 11, 30)),
    ("eind deze maand", date(2026, 11, 30)),
    ("eind volgende maand", date(2026, 12, 31)),
    ("binnen een maand", date(2026, 12, 23)),
    ("binnen één maand", date(2026, 12, 23)),
    ("voor de volgende evaluatie", EVALUATION),
    ("7 dec", date(2026, 12, 7)),
    ("7 jan", date(2027, 1, 7)),
    ("23 nov", TODAY),
    ("7-12", date(2026, 12, 7)),
]


@pytest.mark.parametrize(("text", "expected"), RELATIVE)
def test_relative_phrases_become_real_dates(text: str, expected: date) -> None:
    assert parse_due(text, TODAY, next_evaluation=EVALUATION) == (expected, True)
    verdict = check(draft("Belt de GGZ voor een intake", "Er is een intakedatum", due_text=text))
    assert verdict.resolved_due == expected
    [advice] = [f for f in verdict.advice if f.code == "relative_date"]
    assert f"wordt {expected.day} {MONTHS[expected.month - 1]} {expected.year}." in advice.message


@pytest.mark.parametrize(("word", "number"), [("een", 1), ("één", 1), ("twee", 2), ("drie", 3), ("vier", 4),
                                              ("vijf", 5), ("zes", 6), ("zeven", 7), ("acht", 8), ("negen", 9),
                                              ("tien", 10), ("elf", 11), ("twaalf", 12)])
def test_dutch_number_words(word: str, number: int) -> None:
    assert parse_due(f"binnen {word} dagen", TODAY) == (TODAY + timedelta(days=number), True)


@pytest.mark.parametrize("text", ["7-12-2026", "07-12-2026", "2026-12-07", "7 december 2026", "7 dec 2026",
                                  "7/12/2026", "7.12.2026", "7-12-26", "maandag 7 december 2026", "ma 7 dec 2026",
                                  "uiterlijk 7-12-2026", "vóór 7 december 2026", "t/m 7-12-2026", "7e december 2026"])
def test_absolute_date_formats(text: str) -> None:
    assert parse_due(text, TODAY) == (date(2026, 12, 7), False)
    verdict = check(draft("Belt de GGZ voor een intake", "Er is een intakedatum", due_text=text))
    assert verdict.ok and verdict.resolved_due == date(2026, 12, 7)
    assert not verdict.advice


@pytest.mark.parametrize("text", ["asap", "ASAP", "a.s.a.p.", "z.s.m.", "zsm", "Z.S.M.", "zo snel mogelijk",
                                  "vóór de zomer", "voor de zomer", "binnenkort", "per direct", "na de vakantie"])
def test_asap_and_vague_phrases_are_refused(text: str) -> None:
    verdict = check(draft("Belt de GGZ voor een intake", "Er is een intakedatum", due_text=text))
    assert verdict.blocking_codes == {"vague_date"}
    assert verdict.resolved_due is None
    [finding] = verdict.blocking
    assert "echte datum" in finding.message
    assert re.match(r'^"[^"]+" is ', finding.message)


@pytest.mark.parametrize("text", ["31-02-2027", "13-13-2026", "morgenochtend vroeg", "binnen veel weken",
                                  "binnen 99999 dagen", "7 smarch", "32 december", "2026-02-30"])
def test_unparsable_dates_are_refused(text: str) -> None:
    verdict = check(draft("Belt de GGZ voor een intake", "Er is een intakedatum", due_text=text))
    assert verdict.blocking_codes == {"unparsable_date"}
    assert "7-12-2026" in verdict.blocking[0].message


def test_a_phrase_resolving_after_the_evaluation_blocks() -> None:
    verdict = check(draft("Belt de GGZ voor een intake", "Er is een intakedatum", due_text="binnen 3 maanden"))
    assert verdict.blocking_codes == {"due_after_evaluation"}
    assert verdict.resolved_due == date(2027, 2, 23)
    assert "23 februari 2027" in verdict.blocking[0].message
    assert "15 januari 2027" in verdict.blocking[0].message
    assert {f.code for f in verdict.advice} == {"relative_date"}


def test_due_date_edges() -> None:
    base = draft("Belt de GGZ voor een intake", "Er is een intakedatum", due_text=None)
    assert check(replace(base, due=TODAY)).ok
    assert check(replace(base, due=EVALUATION)).ok
    assert check(replace(base, due=TODAY - timedelta(days=1))).blocking_codes == {"due_in_past"}
    assert check(replace(base, due=EVALUATION + timedelta(days=1))).blocking_codes == {"due_after_evaluation"}
    assert check(replace(base, due=EVALUATION + timedelta(days=400), next_evaluation=None)).ok
    assert check(base).blocking_codes == {"no_due_date"}
    # A date picked in the form wins over leftover text.
    assert check(replace(base, due=date(2026, 12, 1), due_text="asap")).resolved_due == date(2026, 12, 1)


def test_evaluation_phrase_without_evaluation_date_is_refused() -> None:
    verdict = check(draft("Belt de GGZ", "Er is een intakedatum", due_text="voor de evaluatie", next_evaluation=None))
    assert verdict.blocking_codes == {"unparsable_date"}


# ---------------------------------------------------------------------------- word lists

def write_region(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "regio.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_region_word_list_changes_verdicts(tmp_path: Path) -> None:
    region = load_word_lists(write_region(tmp_path, """
group_words = ["iedereen", "zorgteam"]
vague_verbs = ["helpt", "helpen"]
"""))
    owner = draft("Belt de GGZ voor een intake", "Er is een intakedatum", owner="Zorgteam")
    assert check(owner).ok
    assert check(owner, region).blocking_codes == {"group_owner"}

    helps = draft("Helpt moeder met de formulieren van de gemeente", "")
    assert check(helps).blocking_codes == {"no_criterion"}
    assert check(helps, region).blocking_codes == {"no_criterion", "vague_verb"}

    # This region left "begeleidt" off its vague list, and kept the default asap phrases.
    guides = draft("Begeleidt Sam naar de sportclub", "")
    assert check(guides).blocking_codes == {"no_criterion", "vague_verb"}
    assert check(guides, region).blocking_codes == {"no_criterion"}
    assert check(draft("Belt de GGZ", "Er is een intakedatum", due_text="z.s.m."), region).blocking_codes == {
        "vague_date"}


def test_a_region_can_add_number_words_and_action_verbs(tmp_path: Path) -> None:
    region = load_word_lists(write_region(tmp_path, """
action_verbs = ["belt", "appt"]
[number_words]
veertig = 40
"""))
    assert parse_due("binnen veertig dagen", TODAY, region) == (TODAY + timedelta(days=40), True)
    assert parse_due("binnen twee dagen", TODAY, region) is None
    two = draft("Belt school en regelt een afspraak met de huisarts", "Er is een datum bij de huisarts")
    assert check(two).blocking_codes == {"two_actions"}
    assert check(two, region).ok


@pytest.mark.parametrize("text", ['group_words = "iedereen"', "vague_verbs = [1, 2]", "[number_words]\ntwee = 'x'",
                                  "this is not toml [", 'vage_verbs = ["helpt"]'])
def test_a_malformed_region_file_is_a_configuration_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(ValueError, match="SMART word list"):
        load_word_lists(write_region(tmp_path, text))


def test_default_file_loads_with_generous_lists() -> None:
    words = load_word_lists(DEFAULT_WORDS_FILE)
    assert {"iedereen", "team", "wij", "allen", "school en cjg"} <= set(words.group_words)
    assert {"monitoren", "in de gaten houden", "volgen", "proberen", "kijken of", "aandacht hebben voor",
            "ondersteunen"} <= set(words.vague_verbs)
    assert {"asap", "z.s.m.", "zo snel mogelijk"} <= set(words.asap_phrases)
    assert len(words.action_verbs) > 100
    assert words.number_words["twaalf"] == 12


# ---------------------------------------------------------------------------- messages

ENGLISH = re.compile(r"\b(the|please|must|should|owner|date|action|criterion|goal|due|invalid|error)\b", re.I)


def all_findings() -> list:
    return [f for case in CASES for f in check(draft(*case[1:3], case[0], case[3])).findings]


def test_messages_are_dutch_and_short() -> None:
    findings = all_findings()
    assert {f.code for f in findings} >= {"group_owner", "two_owners", "no_owner", "vague_verb", "two_actions",
                                          "no_criterion", "criterion_restates_action", "vague_date", "due_in_past",
                                          "due_after_evaluation", "unparsable_date", "relative_date", "no_due_date"}
    for finding in findings:
        assert not ENGLISH.search(finding.message), finding.message
        assert finding.message.endswith(".") or finding.message.endswith("?"), finding.message
        assert len(finding.message) < 300


@pytest.mark.parametrize(("draft_", "code", "word"), [
    (draft("Mentor gaat monitoren hoe het op school gaat", ""), "vague_verb", '"monitoren"'),
    (draft("Houdt de schoolgang van Sam in de gaten", ""), "vague_verb", '"houdt … in de gaten"'),
    (draft("Kijkt of oma kan oppassen", ""), "vague_verb", '"kijkt of"'),
    (draft("Belt school", "Er is een datum", owner="iedereen"), "group_owner", '"iedereen"'),
    (draft("Belt school", "Er is een datum", owner="Het netwerk"), "group_owner", '"het netwerk"'),
    (draft("Belt school", "Er is een datum", owner="Moeder/oma"), "two_owners", '"Moeder/oma"'),
    (draft("Belt school", "Er is een datum", due_text="z.s.m."), "vague_date", '"z.s.m."'),
    (draft("Belt school", "Er is een datum", due_text="ASAP!"), "vague_date", '"asap"'),
    (draft("Belt school", "Er is een datum", due_text="na de zomer"), "vague_date", '"na de zomer"'),
    (draft("Belt school en mailt de mentor", "Er is een datum"), "two_actions", '"belt" en "mailt"'),
    (draft("Belt school", "Er is een datum", due_text="bla bla"), "unparsable_date", '"bla bla"'),
])
def test_messages_name_the_offending_word(draft_: ActionDraft, code: str, word: str) -> None:
    [finding] = [f for f in check(draft_).findings if f.code == code]
    assert word in finding.message


def test_verdict_serialises_for_the_live_endpoint() -> None:
    verdict = check(draft("Monitort de schoolgang", "", owner="team", due_text="binnen 2 weken"))
    data = json.loads(json.dumps(verdict.as_dict()))
    assert data["ok"] is False
    assert data["resolved_due"] == "2026-12-07"
    assert {f["code"] for f in data["findings"] if f["blocking"]} == {"group_owner", "vague_verb", "no_criterion"}
    assert {f["field"] for f in data["findings"]} <= {"what", "done_when", "owner", "goal", "due", "agreement"}


# ---------------------------------------------------------------------------- robustness

def test_a_100_kb_description_is_refused_quickly() -> None:
    huge = "Moeder belt de school over het verzuim. " * 2600
    verdict = check(draft(huge, huge))
    assert {"too_long"} <= verdict.blocking_codes
    assert all(len(f.message) < 300 for f in verdict.findings)
    assert any(str(MAX_TEXT) in f.message for f in verdict.blocking)


ODD = ["", " ", "\x00\x01\x1b[31m", "\u200b\u200e\u202e", "🙂🔥👨‍👩‍👧", "x" * 100_000, "en " * 5000, ",,,;;;&&&",
       "...", "…", "ge", "binnen 999 maanden", "9999-12-31", "0-0-0", "31-12-9999", "z.s.m. 🙂", "\n\t\r",
       "houdt ... in de gaten", "Ⅻ-Ⅻ-ⅯⅯ", "٣-١٢-٢٠٢٦", "７－１２－２０２６", "İ̇stanbul", "ß" * 10]
odd_text = st.one_of(st.text(max_size=300), st.sampled_from(ODD))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(what=odd_text, done_when=odd_text, owner=st.one_of(st.none(), odd_text), due_text=st.one_of(st.none(), odd_text),
       today=st.dates(), evaluation=st.one_of(st.none(), st.dates()), group=st.sampled_from([None, True, False]),
       goal=st.sampled_from([None, 1, "", "doel-1"]))
def test_the_checker_never_raises(what: str, done_when: str, owner: str | None, due_text: str | None, today: date,
                                  evaluation: date | None, group: bool | None, goal: object) -> None:
    verdict = check(draft(what, done_when, owner, due_text, today=today, next_evaluation=evaluation,
                          owner_is_group=group, goal_id=goal))
    assert isinstance(verdict, Verdict)
    assert all(len(f.message) < 400 for f in verdict.findings)
    json.dumps(verdict.as_dict())
