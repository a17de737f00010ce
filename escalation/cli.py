"""``flask --app netwerk escalation ...``: run the stagnation scan on demand."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from escalation.scan import run_scan

escalation_cli = AppGroup("escalation", help="Opschalingsmodel: de signaleringsregels.")


@escalation_cli.command("scan")
@click.option("--date", "on", default=None, help="Scan as of this day (YYYY-MM-DD), e.g. to test a rule.")
@click.option("--overleg", "overleg_id", default=None, help="Only this overleg (its id).")
def scan_command(on: str | None, overleg_id: str | None) -> None:
    """Evaluate the enabled rules now and propose escalations (idempotent)."""
    try:
        now = datetime.fromisoformat(on).replace(tzinfo=UTC) if on else None
        only = uuid.UUID(overleg_id) if overleg_id else None
    except ValueError:
        raise click.UsageError("Geef een datum als JJJJ-MM-DD en een overleg als id.") from None
    result = run_scan(now, only)
    if result.state == "busy":
        click.echo("Er loopt al een scan; deze doet niets.", err=True)
        raise SystemExit(1)
    click.echo(f"Scan {result.day.isoformat()}: {result.overleggen} overleggen, {result.firings} signalen, "
               f"{result.proposed} nieuwe voorstellen, {result.already_open} al open ({result.seconds:.2f} s).")
    for code, n in sorted(result.per_rule.items()):
        click.echo(f"  {code}: {n}")
