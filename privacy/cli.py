"""``flask --app netwerk privacy ...``: verify the audit chain, checkpoint, rotate keys."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask.cli import AppGroup

from netwerk.db import db
from privacy.audit import create_checkpoint, verify_chain
from privacy.encryption import rotate_data_key
from privacy.keys import create_key_file

privacy_cli = AppGroup("privacy", help="Audit log, checkpoints and encryption keys.")


@privacy_cli.command("verify-audit")
def verify_audit() -> None:
    """Verify the hash chain and every signed checkpoint; name the first bad entry."""
    start = time.perf_counter()
    result = verify_chain()
    seconds = time.perf_counter() - start
    if result.ok:
        click.echo(f"Auditlog in orde: {result.entries} regels en {result.checkpoints} checkpoints "
                   f"gecontroleerd in {seconds:.2f} s.")
        return
    where = "" if result.first_bad_seq is None else f"eerste foute regel {result.first_bad_seq}: "
    click.echo(f"AUDITLOG NIET IN ORDE: {where}{result.problem}", err=True)
    raise SystemExit(1)


@privacy_cli.command("checkpoint")
def checkpoint() -> None:
    """Sign the current head of the audit chain now."""
    cp = create_checkpoint()
    db.session.commit()
    click.echo("Geen auditregels om te ondertekenen." if cp is None
               else f"Checkpoint op regel {cp.seq} ({cp.key_fingerprint}).")


@privacy_cli.command("rotate-key")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--resume", is_flag=True, help="Re-encrypt onto the current key without adding one.")
def rotate_key(batch_size: int, resume: bool) -> None:
    """Add a data key and re-encrypt every encrypted column onto it, batch by batch."""
    report = rotate_data_key(batch_size=batch_size, add_key=not resume)
    click.echo(f"Sleutel {report.new_key_id} actief; {report.reencrypted} waarden opnieuw versleuteld; "
               f"{report.remaining} nog op een oudere sleutel.")


@privacy_cli.command("init-key-file")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def init_key_file(path: Path) -> None:
    """Create a new key file (mode 0600) for production."""
    try:
        create_key_file(path)
    except FileExistsError as exc:
        raise click.ClickException(
            f"{path} bestaat al; overschrijven zou alle versleutelde data onleesbaar maken."
        ) from exc
    click.echo(f"Sleutelbestand aangemaakt: {path} (bewaar een back-up op een veilige plek).")

