"""The SMART checker for plan actions: Dutch feedback on every create and edit.

Pure Python, no database and no Flask, so plan operations, the chair console (live, as
you type) and the API all call the same `check(draft)` and get the same `Verdict`.

Blocking findings (the action is not saved):

- S ``no_action``: nothing says what is done. ``too_long``: more than MAX_TEXT characters
  is a report, not one action.
- S ``no_owner``, ``group_owner`` (a group word such as "iedereen", "team", "wij"; or an
  owner the caller marked as a group), ``two_owners`` ("moeder en vader").
- S ``vague_verb`` when the action has no usable criterion: "monitoren" with no "klaar als"
  leaves nothing to hold anyone to.
- S ``two_actions``: two clauses joined by "en", a comma, "daarna" or "vervolgens" that each
  hold an action verb ("Moeder belt school en regelt een afspraak"). One verb with a list of
  objects ("brood en beleg kopen") is one action.
- M ``no_criterion``: no "klaar als", or one of only empty words ("klaar als het gedaan is").
- M ``criterion_restates_action``: at least RESTATEMENT_THRESHOLD (three quarters) of the
  criterion's content words already occur in the action or the owner, after dropping stop
  words and crude stemming ("belt de school" / "klaar als school gebeld is").
- A ``no_family_agreement``: only when the plan asks for family agreement. A plan that
  does not ask for it produces no finding; a caller that lets a concept plan collect
  agreement later passes ``family_agreement_required=False`` until the plan is adopted.
- R ``no_goal``.
- T ``no_due_date``, ``unparsable_date``, ``vague_date`` ("asap", "z.s.m.", "voor de zomer"),
  ``due_in_past`` (before today; today itself is allowed, "vandaag nog bellen" is real),
  ``due_after_evaluation`` (after the next evaluation date; on it is allowed).

Advice (shown, never blocks):

- S ``vague_verb`` when a real criterion makes the action measurable anyway.
- M ``vague_criterion``: a vague word inside "klaar als".
- A ``not_accepted``: the owner may accept after the meeting, within N days, with one click.
- T ``relative_date``: a relative phrase or a date without a year was read as a real date;
  the message names the date so the user can correct it.

Relative dates understood: "vandaag", "morgen", "overmorgen", "binnen/over/in N dagen,
werkdagen, weken, maanden" (N in digits or words, "een" to "twintig"), "deze week",
"volgende week" (the Friday of next week), "volgende week vrijdag", weekday names (the
next such day), "eind van de maand", "eind volgende maand", "voor de (volgende) evaluatie".
Dates: "7-12-2026", "07-12-2026", "7/12/26", "2026-12-07", "7 december 2026", "7 dec"
(this year, or next year when that day has passed), optionally with "uiterlijk", "voor"
or a weekday in front.

The word lists are data (netwerk/data/smart_nl.toml): a region copies the file, adjusts it,
and the config key SMART_WORDS_FILE points `load_word_lists` at the copy; keys the copy
leaves out keep the defaults. Grammar that is Dutch rather than regional (articles,
conjunctions, month names) lives here.
"""

from __future__ import annotations

import calendar
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from netwerk.workdays import add_working_days

DEFAULT_WORDS_FILE = Path(__file__).parent / "data" / "smart_nl.toml"
RESTATEMENT_THRESHOLD = 0.75
MAX_TEXT = 1000
# Longer input is refused as too_long; only this much is analysed, so a 100 kB paste costs
# no more than a long sentence.
_ANALYSED = 4 * MAX_TEXT
_QUOTE = 40
_GAP = r"(?: \S+){0,4}"

_LIST_KEYS = ("group_words", "single_owner_phrases", "vague_verbs", "asap_phrases", "vague_date_phrases",
              "action_verbs", "stop_words")

# Dutch grammar used to split an action into clauses (not regional, so not in the data file).
_CLAUSE_BREAKS = frozenset({"en", "daarna", "vervolgens", "tevens", ",", ";", "+", "&"})
_SUBORDINATORS = frozenset({"als", "zodra", "wanneer", "nadat", "zodat", "omdat", "indien", "voordat", "totdat",
                            "om", "die", "dat", "wat", "waar", "waarin", "waarbij", "wie", "of", "tenzij"})
_DETERMINERS = frozenset({"de", "het", "een", "'t", "zijn", "haar", "hun", "mijn", "uw", "ons", "onze", "dit",
                          "dat", "deze", "die", "elk", "elke", "ieder", "iedere", "geen"})
_OWNER_SEPARATORS = frozenset({"en", "of", "&", "+", "/"})
_SEPARABLE = ("aan", "af", "door", "in", "mee", "na", "op", "terug", "toe", "uit", "voor", "weg", "over", "")
_SUFFIXES = ("ingen", "ing", "ende", "end", "en", "de", "te", "e", "s")

MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
          "oktober", "november", "december")
_MONTH_ABBREVIATIONS = {"jan": 1, "feb": 2, "mrt": 3, "mar": 3, "maa": 3, "apr": 4, "jun": 6, "jul": 7,
                        "aug": 8, "sep": 9, "sept": 9, "okt": 10, "oct": 10, "nov": 11, "dec": 12}
WEEKDAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
_WEEKDAY_ABBREVIATIONS = ("ma", "di", "wo", "do", "vr", "za", "zo")
_DATE_FILLERS = re.compile(r"^(?:(?:uiterlijk|voor|op|per|tot en met|t ?/ ?m|tot|deadline|datum|klaar)\b[ :]*)+")
_EXAMPLE = 'bijvoorbeeld 7-12-2026, 7 december 2026 of "binnen 2 weken"'


@dataclass(frozen=True)
class ActionDraft:
    what: str
    done_when: str
    owner_label: str | None
    goal_id: object | None
    due: date | None
    due_text: str | None
    owner_accepted: bool
    family_agreement_required: bool
    family_agreed: bool
    today: date
    next_evaluation: date | None
    # True/False when the caller knows (a person or a group picked from a list); None for
    # an owner typed as free text, which the word lists then judge.
    owner_is_group: bool | None = None


@dataclass(frozen=True)
class Finding:
    letter: str
    code: str
    message: str
    blocking: bool
    field: str


@dataclass(frozen=True)
class Verdict:
    findings: tuple[Finding, ...]
    # The due date the action gets: draft.due, or the date read from draft.due_text.
    resolved_due: date | None = None

    @property
    def ok(self) -> bool:
        return not self.blocking

    @property
    def blocking(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.blocking)

    @property
    def advice(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if not f.blocking)

    @property
    def blocking_codes(self) -> frozenset[str]:
        return frozenset(f.code for f in self.blocking)

    def as_dict(self) -> dict[str, Any]:
        """The shape the live "as you type" endpoint and the API return."""
        return {
            "ok": self.ok,
            "resolved_due": self.resolved_due.isoformat() if self.resolved_due else None,
            "findings": [{"letter": f.letter, "code": f.code, "message": f.message, "blocking": f.blocking,
                          "field": f.field} for f in self.findings],
        }


@dataclass(frozen=True)
class WordLists:
    group_words: tuple[str, ...]
    vague_verbs: tuple[str, ...]
    asap_phrases: tuple[str, ...]
    action_verbs: frozenset[str]
    stop_words: frozenset[str]
    number_words: Mapping[str, int]
    vague_date_phrases: tuple[str, ...] = ()
    single_owner_phrases: tuple[str, ...] = ()


# ---------------------------------------------------------------------------- word lists

def load_word_lists(path: Path | None = None) -> WordLists:
    """The default lists, with every key of the file at `path` (a region's copy) replacing
    the list of the same name. Raises ValueError on a malformed file: a configuration
    error to surface at start-up, not user input."""
    data = _read_toml(DEFAULT_WORDS_FILE)
    if path is not None and Path(path).resolve() != DEFAULT_WORDS_FILE.resolve():
        region = _read_toml(Path(path))
        unknown = set(region) - {*_LIST_KEYS, "number_words"}
        if unknown:  # a misspelt key would otherwise silently keep the default list
            raise ValueError(f"SMART word list {path} has unknown keys: {', '.join(sorted(unknown))}")
        data.update(region)
    lists = {key: _string_list(data, key) for key in _LIST_KEYS}
    return WordLists(
        group_words=tuple(lists["group_words"]),
        vague_verbs=tuple(lists["vague_verbs"]),
        asap_phrases=tuple(lists["asap_phrases"]),
        action_verbs=frozenset(_fold(w) for w in lists["action_verbs"]),
        stop_words=frozenset(_fold(w) for w in lists["stop_words"]),
        number_words=MappingProxyType(_number_words(data)),
        vague_date_phrases=tuple(lists["vague_date_phrases"]),
        single_owner_phrases=tuple(lists["single_owner_phrases"]),
    )


@lru_cache(maxsize=1)
def default_word_lists() -> WordLists:
    return load_word_lists()


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"SMART word list {path} cannot be read: {exc}") from exc


def _string_list(data: Mapping[str, Any], key: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"SMART word list {key!r} must be a list of strings")
    return [item.strip().lower() for item in value if item.strip()]


def _number_words(data: Mapping[str, Any]) -> dict[str, int]:
    value = data.get("number_words", {})
    if not isinstance(value, dict) or not all(type(n) is int and n >= 0 for n in value.values()):
        raise ValueError("SMART word list 'number_words' must map words to whole numbers")
    return {_fold(word): number for word, number in value.items()}


# ---------------------------------------------------------------------------- text helpers

def _clean(text: object) -> str:
    """Readable text: control and format characters become spaces, at most _ANALYSED chars."""
    if not isinstance(text, str):
        return ""
    text = unicodedata.normalize("NFKC", text[:_ANALYSED])
    return "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text).strip()


def _fold(text: str) -> str:
    """Lower case without accents, for matching: "Vóór" -> "voor"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", _fold(text))


def _quote(text: str) -> str:
    text = " ".join(_clean(text).split())
    return text if len(text) <= _QUOTE else text[: _QUOTE - 1].rstrip() + "…"


def _dutch_date(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


@lru_cache(maxsize=4096)
def _phrase_pattern(phrase: str) -> re.Pattern[str] | None:
    parts = [" ".join(_words(part)) for part in re.split(r"\.\.\.|…", phrase)]
    if not all(parts):
        return None
    return re.compile(r"(?<!\S)" + (_GAP + " ").join(re.escape(part) for part in parts) + r"(?!\S)")


@lru_cache(maxsize=64)
def _longest_first(phrases: tuple[str, ...]) -> tuple[str, ...]:
    # A phrase with a gap sorts after the same words without one, so the tighter one is quoted.
    return tuple(sorted(phrases, key=lambda p: (-len(_words(p)), "..." in p or "…" in p)))


def _length(text: object) -> int:
    return len(text) if isinstance(text, str) else 0


def find_phrases(text: str, phrases: Iterable[str]) -> list[str]:
    """The list entries found in `text` as whole words, longest first and without overlap,
    to quote back to the user ("..." shown as "…")."""
    joined = " ".join(_words(text))
    taken: list[tuple[int, int]] = []
    found: list[str] = []
    for phrase in _longest_first(tuple(phrases)):
        pattern = _phrase_pattern(phrase)
        match = pattern.search(joined) if pattern else None
        if match and not any(match.start() < end and start < match.end() for start, end in taken):
            taken.append(match.span())
            found.append(phrase.replace("...", "…"))
    return found


def _finding(letter: str, code: str, message: str, field: str, blocking: bool = True) -> Finding:
    return Finding(letter=letter, code=code, message=message, blocking=blocking, field=field)


# ---------------------------------------------------------------------------- S: specific

def _check_owner(draft: ActionDraft, words: WordLists) -> list[Finding]:
    label = _clean(draft.owner_label)
    if draft.owner_is_group:
        subject = f'"{_quote(label)}"' if label else "De gekozen eigenaar"
        return [_finding("S", "group_owner", f"{subject} is een groep: kies één persoon met naam die de actie "
                         "uitvoert.", "owner")]
    if not _words(label):
        return [_finding("S", "no_owner", "Er is geen eigenaar: kies één persoon met naam die de actie "
                         "uitvoert.", "owner")]
    if draft.owner_is_group is False:
        return []
    tokens = _owner_tokens(label, words)
    groups = find_phrases(" ".join(tokens), words.group_words)
    if groups:
        return [_finding("S", "group_owner", f'"{groups[0]}" is geen eigenaar: één persoon met naam is '
                         "verantwoordelijk, geen groep of onbekende.", "owner")]
    if any(tok in _OWNER_SEPARATORS and 0 < i < len(tokens) - 1 for i, tok in enumerate(tokens)):
        return [_finding("S", "two_owners", f'"{_quote(label)}" noemt meer dan één eigenaar: kies één '
                         "persoon, en maak zo nodig voor de ander een eigen actie.", "owner")]
    return []


def _owner_tokens(label: str, words: WordLists) -> list[str]:
    """The owner's words and separators, with each name of one organisation that contains
    "en" ("Centrum voor Jeugd en Gezin") reduced to a placeholder."""
    joined = " " + " ".join(re.findall(r"[^\W_]+|[&+/]", _fold(label))) + " "
    for phrase in words.single_owner_phrases:
        joined = joined.replace(" " + " ".join(_words(phrase)) + " ", " _ ")
    return joined.split()


def _check_what(draft: ActionDraft, words: WordLists, has_criterion: bool) -> list[Finding]:
    what = _clean(draft.what)
    if not _words(what):
        return [_finding("S", "no_action", "Beschrijf wat er precies gedaan wordt.", "what")]
    findings = []
    if _length(draft.what) > MAX_TEXT:
        findings.append(_finding("S", "too_long", f"De actie is {_length(draft.what)} tekens; houd het bij één "
                                 f"concrete actie van hoogstens {MAX_TEXT} tekens.", "what"))
    findings += _vague_findings(what, words, has_criterion)
    verbs = _clause_verbs(what, words)
    if len(verbs) >= 2:
        findings.append(_finding("S", "two_actions", f'Dit zijn twee acties ("{verbs[0]}" en "{verbs[1]}"): '
                                 "maak er aparte acties van, elk met een eigen eigenaar en datum.", "what"))
    return findings


def _vague_findings(what: str, words: WordLists, has_criterion: bool) -> list[Finding]:
    vague = find_phrases(what, words.vague_verbs)
    if not vague:
        return []
    if has_criterion:
        return [_finding("S", "vague_verb", f'"{vague[0]}" is vaag; "klaar als" maakt de actie meetbaar, '
                         "maar een concreet werkwoord (bellen, aanvragen, plannen) is duidelijker.", "what",
                         blocking=False)]
    return [_finding("S", "vague_verb", f'"{vague[0]}" is vaag: zeg wat er gedaan wordt, of leg in "klaar als" '
                     "vast wanneer het af is.", "what")]


def _clause_verbs(what: str, words: WordLists) -> list[str]:
    """The first action verb of every main clause: two or more mean two actions."""
    tokens = re.findall(r"[^\W_]+|[,;+&]", _fold(what))
    clauses: list[list[str]] = [[]]
    for token in tokens:
        if token in _CLAUSE_BREAKS:
            clauses.append([])
        else:
            clauses[-1].append(token)
    verbs = (_first_verb(clause, words) for clause in clauses if clause and clause[0] not in _SUBORDINATORS)
    return [verb for verb in verbs if verb]


def _first_verb(clause: list[str], words: WordLists) -> str | None:
    for i, token in enumerate(clause):
        # "het eten", "de start": a verb form right after an article is a noun.
        if token in words.action_verbs and (i == 0 or clause[i - 1] not in _DETERMINERS):
            return token
    return None


# ---------------------------------------------------------------------------- M: measurable

def _stem(token: str) -> str:
    """Crude Dutch stemming, good enough to see that "gebeld", "belt" and "bellen" agree."""
    for prefix in _SEPARABLE:
        if token.startswith(prefix + "ge") and len(token) - len(prefix) > 5:
            token = prefix + token[len(prefix) + 2:]
            break
    for suffix in _SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            token = token[: -len(suffix)]
            break
    token = re.sub(r"(?<=...)(?:dt|d|t)$", "", token)
    token = re.sub(r"([aeou])\1", r"\1", token)
    return re.sub(r"([^aeiou])\1$", r"\1", token)


def _content_stems(text: str, words: WordLists) -> set[str]:
    return {_stem(word) for word in _words(text) if word not in words.stop_words}


def _covered(stem: str, others: set[str]) -> bool:
    return any(stem == other or (min(len(stem), len(other)) >= 3 and (stem.endswith(other) or other.endswith(stem)))
               for other in others)


def coverage(text: str, reference: str, words: WordLists | None = None) -> float | None:
    """The share of ``reference``'s content words that ``text`` covers (stop words dropped,
    crudely stemmed); None when ``reference`` has no content words at all."""
    words = words or default_word_lists()
    wanted = _content_stems(reference, words)
    if not wanted:
        return None
    have = _content_stems(text, words)
    return sum(_covered(stem, have) for stem in wanted) / len(wanted)


def restatement_ratio(what: str, done_when: str, words: WordLists, owner: str = "") -> float | None:
    """The share of the criterion's content words already in the action or owner; None when
    the criterion has no content words at all."""
    return coverage(f"{what} {owner}", done_when, words)


def _check_criterion(draft: ActionDraft, words: WordLists) -> list[Finding]:
    done_when = _clean(draft.done_when)
    if not _words(done_when):
        return [_finding("M", "no_criterion", 'Vul "klaar als" in: waaraan zie je dat de actie af is?', "done_when")]
    ratio = restatement_ratio(_clean(draft.what), done_when, words, _clean(draft.owner_label))
    if ratio is None:
        return [_finding("M", "no_criterion", f'"{_quote(done_when)}" zegt niet waaraan je ziet dat het af is: '
                         'beschrijf een resultaat, bijvoorbeeld "er staat een datum voor de intake".', "done_when")]
    findings = []
    if _length(draft.done_when) > MAX_TEXT:
        findings.append(_finding("M", "too_long", f'"Klaar als" is hoogstens {MAX_TEXT} tekens.', "done_when"))
    if ratio >= RESTATEMENT_THRESHOLD:
        findings.append(_finding("M", "criterion_restates_action", '"Klaar als" herhaalt de actie: beschrijf '
                                 "het resultaat dat je kunt zien of tellen, bijvoorbeeld \"er staat een datum "
                                 'voor de intake".', "done_when"))
    vague = find_phrases(done_when, words.vague_verbs)
    if vague:
        findings.append(_finding("M", "vague_criterion", f'"{vague[0]}" in "klaar als" is vaag: wat zie je als '
                                 "het gelukt is?", "done_when", blocking=False))
    return findings


def _has_criterion(findings: list[Finding]) -> bool:
    return not any(f.code in {"no_criterion", "criterion_restates_action"} for f in findings)


# ---------------------------------------------------------------------------- A and R

def _check_agreement(draft: ActionDraft, owner_findings: list[Finding]) -> list[Finding]:
    findings = []
    if not draft.owner_accepted and not owner_findings:
        findings.append(_finding("A", "not_accepted", f'"{_quote(_clean(draft.owner_label))}" heeft de actie nog '
                                 "niet geaccepteerd; dat kan na de bespreking met één klik.", "owner",
                                 blocking=False))
    if draft.family_agreement_required and not draft.family_agreed:
        findings.append(_finding("A", "no_family_agreement", "Dit plan vraagt instemming van het gezin: leg vast "
                                 "wie van het gezin heeft ingestemd, en wanneer.", "agreement"))
    return findings


def _check_goal(draft: ActionDraft) -> list[Finding]:
    if draft.goal_id is None or (isinstance(draft.goal_id, str) and not draft.goal_id.strip()):
        return [_finding("R", "no_goal", "Koppel de actie aan een doel uit het plan: aan welk doel werkt ze?",
                         "goal")]
    return []


# ---------------------------------------------------------------------------- T: time-bound

def _check_due(draft: ActionDraft, words: WordLists) -> tuple[date | None, list[Finding]]:
    if draft.due is not None:
        return draft.due, _due_limits(draft.due, draft)
    text = _clean(draft.due_text)
    if not _words(text):
        return None, [_finding("T", "no_due_date", "Vul een datum in waarop de actie klaar moet zijn.", "due")]
    parsed = parse_due(text, draft.today, words, draft.next_evaluation)
    if parsed is None:
        return None, [_unparsed(text, words)]
    due, relative = parsed
    findings = [_finding("T", "relative_date", f'"{_quote(text)}" wordt {_dutch_date(due)}.', "due",
                         blocking=False)] if relative else []
    return due, findings + _due_limits(due, draft)


def _unparsed(text: str, words: WordLists) -> Finding:
    asap = find_phrases(text, words.asap_phrases)
    if asap:
        return _finding("T", "vague_date", f'"{asap[0]}" is geen datum: vul een echte datum in, {_EXAMPLE}.', "due")
    vague = find_phrases(text, words.vague_date_phrases)
    if vague:
        return _finding("T", "vague_date", f'"{vague[0]}" is te vaag: vul een echte datum in, {_EXAMPLE}.', "due")
    return _finding("T", "unparsable_date", f'"{_quote(text)}" is geen datum die Netwerk begrijpt: gebruik '
                    f"{_EXAMPLE}.", "due")


def _due_limits(due: date, draft: ActionDraft) -> list[Finding]:
    if due < draft.today:
        return [_finding("T", "due_in_past", f"{_dutch_date(due)} ligt in het verleden: kies vandaag of een "
                         "latere datum.", "due")]
    if draft.next_evaluation is not None and due > draft.next_evaluation:
        return [_finding("T", "due_after_evaluation", f"{_dutch_date(due)} ligt na de volgende evaluatie "
                         f"({_dutch_date(draft.next_evaluation)}): kies een datum op of vóór de evaluatie.", "due")]
    return []


def parse_due(text: str, today: date, words: WordLists | None = None,
              next_evaluation: date | None = None) -> tuple[date, bool] | None:
    """A typed due date as (date, relative?), or None. Relative covers phrases and dates
    without a year: both depend on today, so the user is told the date chosen."""
    words = words or default_word_lists()
    norm = _normalise_date_text(text)
    try:
        absolute = _absolute_date(norm, today)
        relative = None if absolute else _relative_date(norm, today, words, next_evaluation)
    except (OverflowError, ValueError):  # 31-2-2026, or a count that runs past year 9999
        return None
    if absolute is not None:
        return absolute
    return (relative, True) if relative is not None else None


def _normalise_date_text(text: str) -> str:
    norm = " ".join(_fold(_clean(text)).replace(",", " ").split()).rstrip(".!")
    return _DATE_FILLERS.sub("", norm).strip()


def _strip_weekday(norm: str) -> str:
    return re.sub(rf"^(?:{'|'.join(WEEKDAYS + _WEEKDAY_ABBREVIATIONS)})\.? (?=\d)", "", norm)


def _absolute_date(norm: str, today: date) -> tuple[date, bool] | None:
    norm = _strip_weekday(norm)
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", norm):
        return date(int(m[1]), int(m[2]), int(m[3])), False
    if m := re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})", norm):
        return date(_full_year(m[3]), int(m[2]), int(m[1])), False
    if m := re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})", norm):
        return _next_occurrence(int(m[1]), int(m[2]), today), True
    if (m := re.fullmatch(r"(\d{1,2})(?:e|ste|de)? ([a-z]+)\.?(?: (\d{4}))?", norm)) and _month(m[2]):
        if m[3]:
            return date(int(m[3]), _month(m[2]), int(m[1])), False
        return _next_occurrence(int(m[1]), _month(m[2]), today), True
    return None


def _full_year(text: str) -> int:
    return 2000 + int(text) if len(text) == 2 else int(text)


def _month(name: str) -> int:
    if name in MONTHS:
        return MONTHS.index(name) + 1
    return _MONTH_ABBREVIATIONS.get(name, 0)


def _next_occurrence(day: int, month: int, today: date) -> date:
    candidate = date(today.year, month, day) if _valid(today.year, month, day) else None
    if candidate is None or candidate < today:
        return date(today.year + 1, month, day)
    return candidate


def _valid(year: int, month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


def _relative_date(norm: str, today: date, words: WordLists, next_evaluation: date | None) -> date | None:
    fixed = {"vandaag": 0, "morgen": 1, "overmorgen": 2}
    if norm in fixed:
        return today + timedelta(days=fixed[norm])
    if re.fullmatch(r"(?:de |het )?(?:volgende |eerstvolgende )?evaluatie(?:datum|moment)?", norm):
        return next_evaluation
    return (_counted_period(norm, today, words) or _week_phrase(norm, today) or _month_end(norm, today)
            or _weekday(norm, today))


def _counted_period(norm: str, today: date, words: WordLists) -> date | None:
    m = re.fullmatch(r"(?:(?:binnen|over|in) )?(\d{1,3}|[a-z]+) (werkdag|werkdagen|dag|dagen|week|weken|maand|"
                     r"maanden)", norm)
    if not m:
        return None
    count = int(m[1]) if m[1].isdigit() else words.number_words.get(m[1])
    if count is None:
        return None
    unit = m[2]
    if unit in {"werkdag", "werkdagen"}:
        return add_working_days(today, count)
    if unit in {"dag", "dagen"}:
        return today + timedelta(days=count)
    if unit in {"week", "weken"}:
        return today + timedelta(weeks=count)
    return _add_months(today, count)


def _add_months(start: date, count: int) -> date:
    years, month_index = divmod(start.month - 1 + count, 12)
    year, month = start.year + years, month_index + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def _week_phrase(norm: str, today: date) -> date | None:
    monday = today - timedelta(days=today.weekday())
    if norm in {"deze week", "eind deze week", "einde van deze week", "eind van deze week"}:
        return max(monday + timedelta(days=4), today)
    # A Dutch work week ends on Friday: "volgende week" means the Friday of next week.
    if norm in {"volgende week", "komende week", "eind volgende week", "eind van volgende week"}:
        return monday + timedelta(days=7 + 4)
    m = re.fullmatch(r"(?:volgende|komende) week (\w+)", norm)
    if m and m[1] in WEEKDAYS:
        return monday + timedelta(days=7 + WEEKDAYS.index(m[1]))
    return None


def _month_end(norm: str, today: date) -> date | None:
    if re.fullmatch(r"(?:het )?eind(?:e)? (?:van )?(?:de |deze )?maand", norm):
        return date(today.year, today.month, calendar.monthrange(today.year, today.month)[1])
    if re.fullmatch(r"(?:het )?eind(?:e)? (?:van )?(?:de )?volgende maand|volgende maand", norm):
        first_next = _add_months(today.replace(day=1), 1)
        return first_next.replace(day=calendar.monthrange(first_next.year, first_next.month)[1])
    return None


def _weekday(norm: str, today: date) -> date | None:
    """"vrijdag" or "komende vrijdag": the next such day after today."""
    m = re.fullmatch(r"(?:(?:aanstaande|komende|volgende) )?(\w+)(?: a\.? ?s\.?)?", norm)
    if not m or m[1] not in WEEKDAYS:
        return None
    ahead = (WEEKDAYS.index(m[1]) - today.weekday() - 1) % 7 + 1
    return today + timedelta(days=ahead)


# ---------------------------------------------------------------------------- the checker

def check(draft: ActionDraft, words: WordLists | None = None) -> Verdict:
    """Every SMART finding for one action, in S, M, A, R, T order. Never raises on user text."""
    words = words or default_word_lists()
    owner = _check_owner(draft, words)
    criterion = _check_criterion(draft, words)
    what = _check_what(draft, words, _has_criterion(criterion))
    due, timing = _check_due(draft, words)
    findings = (*owner, *what, *criterion, *_check_agreement(draft, owner), *_check_goal(draft), *timing)
    return Verdict(findings=tuple(findings), resolved_due=due)


# ---------------------------------------------------------------------------- judged when written

# At least this share of the words that matter must recur for two action texts to be the
# same work (a re-created action), or for a completion note to cover its criterion.
SAME_WORK = 0.5


def criterion_met(note: str | None, done_when: str, words: WordLists | None = None) -> bool:
    """Does the completion note say that the "klaar als" criterion was reached? A bare
    "gedaan" or "ok" does not; a criterion without content words cannot be checked (met).

    Judged by the plan operation that marks the action done, with the writer's own note:
    the stagnation scan reads the stored flag and never the texts."""
    if not note:
        return False
    ratio = coverage(note, done_when, words)
    return ratio is None or ratio >= SAME_WORK


def same_work(a: str, b: str, words: WordLists | None = None) -> bool:
    """Two action texts describe the same work: either covers half of the other's words."""
    return any((r or 0) >= SAME_WORK for r in (coverage(a, b, words), coverage(b, a, words)))
