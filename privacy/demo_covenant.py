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

from privacy.operations import CovenantSpec, PartySpec, RetentionSpec, RuleSpec

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


# Retention (art. 12 of a typical covenant). The network keeps its own data shorter than the
# partners keep their files: a youth-care provider's dossier (Jeugdwet art. 7.3.8, 20 years)
# or a medical record (BW art. 7:454, 20 years) stays with that organisation and is not
# Netwerk's. The help texts are Dutch because the privacy officer reads them on screen.
RETENTION = [
    RetentionSpec("betrokkenheid", 12, grounds=(
        "Een registratie van betrokkenheid blijft een jaar na het einde bewaard, zodat een nieuw signaal de vorige "
        "contactpersoon nog vindt. De registratie zelf loopt hoogstens twee jaar, zoals een melding in de "
        "Verwijsindex risicojongeren (Jeugdwet, hoofdstuk 7). Grondslag: opslagbeperking, AVG art. 5 lid 1 "
        "onder e.")),
    RetentionSpec("notitie", 24, grounds=(
        "Notities van het netwerk: twee jaar nadat de laatste betrokkenheid bij de persoon is geëindigd. Zo kan "
        "een terugkerende zorg in samenhang worden gezien; daarna is er geen doel meer. Het eigen dossier van een "
        "jeugdhulpaanbieder (Jeugdwet art. 7.3.8: 20 jaar) valt niet onder het netwerk.")),
    RetentionSpec("notitie", 12, category="gezondheid", grounds=(
        "Gezondheidsgegevens zijn bijzondere persoonsgegevens (AVG art. 9): zo kort mogelijk, een jaar. Het "
        "medisch dossier zelf (BW art. 7:454: 20 jaar) blijft bij de zorgverlener.")),
    RetentionSpec("notitie", 36, category="strafrechtelijk", grounds=(
        "Strafrechtelijke gegevens (AVG art. 10 en de UAVG): drie jaar, omdat een strafrechtelijke aanpak bij "
        "herhaling op eerdere afspraken voortbouwt. Justitiële documentatie (Wjsg) en politiegegevens (Wpg) "
        "blijven bij justitie en politie.")),
    RetentionSpec("notitie", 36, category="veiligheid", grounds=(
        "Veiligheid en huiselijk geweld: drie jaar, zodat een terugkerend patroon wordt herkend. Het dossier van "
        "Veilig Thuis valt onder de Wmo 2015 en niet onder het netwerk.")),
    RetentionSpec("plan", 60, grounds=(
        "Een afgesloten 1gezin1plan blijft vijf jaar bewaard: een gezin dat opnieuw hulp vraagt, kan voortbouwen "
        "op eerdere afspraken, en de gemeente legt verantwoording af over de regie. Daarna volgt verwijdering; "
        "alleen geanonimiseerde aantallen blijven.")),
    RetentionSpec("agendapunt", 24, grounds=(
        "Een bespreking in het overleg (agendapunt, besluiten, brieven): twee jaar na de datum van het overleg.")),
    RetentionSpec("agendapunt", 36, purpose="strafrechtelijke_aanpak", grounds=(
        "Besprekingen in het procesoverleg van het Veiligheidshuis: drie jaar, gelijk aan de strafrechtelijke "
        "notities.")),
    RetentionSpec("persoon", 24, grounds=(
        "Naam, geboortedatum, BSN en adres: twee jaar nadat de laatste betrokkenheid is geëindigd, en nooit "
        "zolang er nog andere gegevens over de persoon of een lopende zaak van het gezin zijn.")),
]


def demo_covenant(parties: list[tuple[uuid.UUID, str]], start: date) -> CovenantSpec:
    """The spec for ``parties`` ((organisation id, organisation type) pairs)."""
    return CovenantSpec(
        version=VERSION, title="Convenant Zorg en Veiligheid Hollands Midden (demo)",
        valid_from=start, valid_until=None, purposes=PURPOSES, categories=CATEGORIES,
        parties=[PartySpec(org_id, org_type, start) for org_id, org_type in parties],
        rules=_rules({org_type for _, org_type in parties}),
        retention=RETENTION,
    )
