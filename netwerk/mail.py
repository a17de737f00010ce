"""Outgoing e-mail: fixed Dutch templates that carry a link and never case content.

A mail is a row in ``outbox_mail`` written in the caller's transaction; delivery is a job
queued after commit. With SMTP configured the job sends it; without, the mail stays in the
local outbox, which the beheerder can read in demo mode.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from flask import current_app

from netwerk.db import db, on_commit, utcnow
from netwerk.jobqueue import enqueue
from netwerk.models import OutboxMail

# The only mails Netwerk can send. Placeholders are limited to the recipient's own name
# and a link, so no code path can put case content into an e-mail.
TEMPLATES: dict[str, tuple[str, str]] = {
    "account_created": (
        "Uw account voor Netwerk",
        "Beste {name},\n\nEr is een account voor u aangemaakt in Netwerk. Uw beheerder geeft u "
        "een tijdelijk wachtwoord; bij de eerste keer inloggen kiest u een eigen wachtwoord.\n\n"
        "Inloggen: {link}\n\nDit is een automatisch bericht.",
    ),
    "password_reset": (
        "Uw wachtwoord voor Netwerk is opnieuw ingesteld",
        "Beste {name},\n\nUw beheerder heeft uw wachtwoord opnieuw ingesteld. U krijgt het "
        "tijdelijke wachtwoord van uw beheerder; bij het inloggen kiest u een nieuw wachtwoord.\n\n"
        "Inloggen: {link}\n\nHeeft u hier niet om gevraagd? Neem dan contact op met uw beheerder.",
    ),
    "involvement_match": (
        "Netwerk: een andere organisatie is ook betrokken",
        "Beste {name},\n\nEen andere organisatie is ook betrokken bij iemand voor wie u contactpersoon bent. "
        "Neem contact met elkaar op en leg vast wie de regie voert.\n\nBekijken: {link}\n\n"
        "Dit bericht bevat bewust geen namen of inhoud.",
    ),
    "audit_chain_failed": (
        "Netwerk: de controle van het auditlog is niet in orde",
        "Beste {name},\n\nBij de dagelijkse controle van het auditlog is een afwijking gevonden. "
        "Bekijk de stand op het privacy-dashboard en volg de incidentprocedure.\n\nBekijken: {link}\n\n"
        "Dit bericht bevat bewust geen details.",
    ),
    "account_deactivated": (
        "Uw account voor Netwerk is gedeactiveerd",
        "Beste {name},\n\nUw account in Netwerk is gedeactiveerd; u bent overal uitgelogd.\n\n"
        "Meer informatie: {link}",
    ),
    # Mijn acties reminders (issue 4): the link only, never which action or family.
    "action_due_soon": (
        "Netwerk: een actie van u moet binnenkort klaar zijn",
        "Beste {name},\n\nEen actie waarvan u eigenaar bent moet binnenkort klaar zijn.\n\n"
        "Bekijken: {link}\n\nDit bericht bevat bewust geen namen of inhoud.",
    ),
    "action_not_accepted": (
        "Netwerk: een actie wacht op uw akkoord",
        "Beste {name},\n\nEr staat een actie op uw naam die u nog niet heeft geaccepteerd. Accepteer "
        "de actie, of laat de zorgcoördinator weten dat u haar niet kunt uitvoeren.\n\nBekijken: {link}\n\n"
        "Dit bericht bevat bewust geen namen of inhoud.",
    ),
    "action_overdue": (
        "Netwerk: een actie van u is te laat",
        "Beste {name},\n\nEen actie waarvan u eigenaar bent had al klaar moeten zijn. Werk de stand bij "
        "of spreek een nieuwe datum af.\n\nBekijken: {link}\n\nDit bericht bevat bewust geen namen of inhoud.",
    ),
    # Escalation (escalation.operations): the recipient's name and a link, never which
    # family, action or decision.
    "escalation_proposed": (
        "Netwerk: een vastgelopen casus wacht op uw beoordeling",
        "Beste {name},\n\nNetwerk stelt voor een casus op te schalen. Beoordeel of u de escalatie "
        "doorzet of afwijst.\n\nBekijken: {link}\n\nDit bericht bevat bewust geen namen of inhoud.",
    ),
    "escalation_proposals": (
        "Netwerk: vastgelopen casussen wachten op uw beoordeling",
        "Beste {name},\n\nDe dagelijkse controle van Netwerk stelt voor een of meer casussen op te schalen. "
        "Beoordeel per voorstel of u de escalatie doorzet of afwijst.\n\nBekijken: {link}\n\n"
        "Dit bericht bevat bewust geen namen of inhoud.",
    ),
    "escalation_raised": (
        "Netwerk: een escalatie is aan u gericht",
        "Beste {name},\n\nEr is een vastgelopen casus naar u opgeschaald. Bevestig de ontvangst en neem "
        "voor de termijn een besluit.\n\nBekijken: {link}\n\nDit bericht bevat bewust geen namen of inhoud.",
    ),
    "escalation_acknowledged": (
        "Netwerk: een escalatie is ontvangen",
        "Beste {name},\n\nDe ontvanger heeft de ontvangst van een escalatie bevestigd.\n\n"
        "Bekijken: {link}\n\nDit bericht bevat bewust geen namen of inhoud.",
    ),
    "escalation_decided": (
        "Netwerk: over een escalatie is besloten",
        "Beste {name},\n\nOver een escalatie is een besluit genomen.\n\nBekijken: {link}\n\n"
        "Dit bericht bevat bewust geen namen of inhoud.",
    ),
    "escalation_closed": (
        "Netwerk: een escalatie is afgesloten",
        "Beste {name},\n\nEen escalatie waarbij u betrokken was is afgesloten.\n\nBekijken: {link}\n\n"
        "Dit bericht bevat bewust geen namen of inhoud.",
    ),
    "escalation_level_up": (
        "Netwerk: een escalatie is een niveau hoger gekomen",
        "Beste {name},\n\nDe termijn van een escalatie is verstreken zonder besluit; zij ligt nu op een "
        "hoger niveau.\n\nBekijken: {link}\n\nDit bericht bevat bewust geen namen of inhoud.",
    ),
    # Meetings (meetings.jobs.send_besluitenlijst): a link to the reader's own besluitenlijst.
    "besluitenlijst": (
        "Netwerk: de besluitenlijst van een overleg staat klaar",
        "Beste {name},\n\nDe besluitenlijst van een overleg waar uw organisatie aan tafel zat staat klaar. "
        "U ziet alleen de onderdelen waarbij uw organisatie aanwezig was.\n\nBekijken: {link}\n\n"
        "Dit bericht bevat bewust geen namen of inhoud.",
    ),
}


def queue_mail(kind: str, recipient: str, name: str, path: str, dedupe_key: str | None = None) -> OutboxMail:
    """Write the mail to the outbox and deliver it after commit."""
    subject, body = TEMPLATES[kind]
    link = current_app.config["BASE_URL"] + path
    mail = OutboxMail(
        recipient=recipient, subject=subject, kind=kind, dedupe_key=dedupe_key,
        body=body.format(name=name, link=link),
    )
    db.session.add(mail)
    db.session.flush()
    on_commit(lambda mail_id=str(mail.id): _enqueue_delivery(mail_id))
    return mail


def _enqueue_delivery(mail_id: str) -> None:
    enqueue("netwerk.jobs.deliver_mail", mail_id, job_id=f"mail-{mail_id}")


def deliver(mail: OutboxMail) -> None:
    """Send ``mail`` by SMTP, or keep it in the local outbox when there is no SMTP."""
    if mail.state != "queued":
        return  # delivered already: jobs run at least once
    cfg = current_app.config
    if not cfg["SMTP_HOST"]:
        mail.state = "kept_local"
        return
    message = EmailMessage()
    message["From"] = cfg["MAIL_FROM"]
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message.set_content(mail.body)
    with smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=30) as smtp:
        if cfg["SMTP_STARTTLS"]:
            smtp.starttls(context=ssl.create_default_context())
        if cfg["SMTP_USER"]:
            smtp.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"] or "")
        smtp.send_message(message)
    mail.state, mail.sent_at = "sent", utcnow()
