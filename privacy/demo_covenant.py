"""The demo region's covenant: a realistic "Convenant Zorg en Veiligheid Hollands Midden".

Modelled on how such covenants read: every party learns *that* another is involved and
whom to call (betrokkenheid, contactgegevens) for every purpose; content flows only to
the partners whose task needs it, for the purpose that needs it, mostly on consent for
care data and on a legal task for criminal-law data; health data only between care
providers with explicit consent. Articles are numbered as in a typical covenant.
"""

from __future__ import annotations

import uuid
from datetime import date

from privacy.operations import CovenantSpec, PartySpec, RuleSpec

VERSION = "2026-1"
PURPOSES = {
    "signalering": "Signalering en vroegtijdige afstemming",
    "procesregie": "Procesregie en 1gezin1plan",
    "strafrechtelijke_aanpak": "Strafrechtelijke aanpak (Veiligheidshuis)",
    "nazorg": "Nazorg na detentie of jeugdzorg",
}
CATEGORIES = {
    "betrokkenheid": ("Betrokkenheid (dat, niet wat)", False, False),
    "contactgegevens": ("Contactgegevens", False, False),
    "zorgen": ("Zorgen en hulpvraag", False, False),
    "gezondheid": ("Gezondheid", True, False),
    "strafrechtelijk": ("Strafrechtelijke gegevens", False, True),
    "school": ("School en leerplicht", False, False),
    "veiligheid": ("Veiligheid en huiselijk geweld", False, False),
    "financien": ("Financiën", False, False),
    "wonen": ("Wonen", False, False),
    "plan": ("Plan en acties", False, False),
}
CARE = ("cjg", "jongerenwerk", "gi", "ggz", "ggd", "mee", "school", "veilig_thuis", "gemeente")
JUSTICE = ("politie", "reclassering", "raad", "veiligheidshuis", "gemeente", "gi")


def _rules(types: set[str]) -> list[RuleSpec]:
    rules: list[RuleSpec] = []

    def add(purposes: tuple[str, ...], category: str, receivers: tuple[str, ...], article: str, basis: str,
            consent: str | None = None) -> None:
        for purpose in purposes:
            for receiver in receivers:
                if receiver in types:
                    rules.append(RuleSpec(purpose, category, f"type:{receiver}", True, article, basis, consent))

    everyone, every_purpose = tuple(sorted(types)), tuple(PURPOSES)
    add(every_purpose, "betrokkenheid", everyone, "art. 4", "wettelijke_taak")
    add(every_purpose, "contactgegevens", everyone, "art. 4", "wettelijke_taak")
    add(("signalering", "procesregie"), "zorgen", CARE, "art. 6 lid 1", "toestemming", "gezamenlijk_gesprek")
    add(("procesregie", "nazorg"), "plan", everyone, "art. 6 lid 3", "toestemming", "plan_bespreken")
    add(("procesregie",), "gezondheid", ("ggz", "ggd", "cjg"), "art. 7", "toestemming", "delen_met_organisatie")
    add(("signalering", "procesregie"), "veiligheid", ("veilig_thuis", "politie", "gi", "raad"), "art. 8",
        "wettelijke_taak")
    add(("strafrechtelijke_aanpak", "nazorg"), "strafrechtelijk", JUSTICE, "art. 9", "wettelijke_taak")
    add(("signalering", "procesregie"), "school", ("leerplicht", "school", "cjg"), "art. 6 lid 2", "wettelijke_taak")
    add(("procesregie", "nazorg"), "wonen", ("gemeente", "woningcorporatie", "reclassering"), "art. 6 lid 4",
        "toestemming", "voorwaarden")
    add(("procesregie", "nazorg"), "financien", ("gemeente",), "art. 6 lid 4", "toestemming", "voorwaarden")
    return rules


def demo_covenant(parties: list[tuple[uuid.UUID, str]], start: date) -> CovenantSpec:
    """The spec for ``parties`` ((organisation id, organisation type) pairs)."""
    return CovenantSpec(
        version=VERSION, title="Convenant Zorg en Veiligheid Hollands Midden (demo)",
        valid_from=start, valid_until=None, purposes=PURPOSES, categories=CATEGORIES,
        parties=[PartySpec(org_id, org_type, start) for org_id, org_type in parties],
        rules=_rules({org_type for _, org_type in parties}),
    )
