"""CSV exports that open safely in a spreadsheet: Dutch Excel's ``;`` separator, a UTF-8
byte-order mark (without it Excel reads UTF-8 as Windows-1252 and mangles "ë"), and no
cell that a spreadsheet would run as a formula.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (also
after leading spaces, and their full-width forms) gets a leading apostrophe, as OWASP's
"CSV injection" advice says: the spreadsheet then shows the text instead of evaluating it
(``=HYPERLINK(...)``, ``@SUM(...)``, DDE). Numbers are written as they are, so ``-5`` stays
a number. Quoting of ``;``, quotes and line breaks is left to :mod:`csv`.

API (used by the register of processing and the audit export)::

    safe_cell(value) -> str                      # one cell, neutralised
    csv_lines(header, rows) -> Iterator[str]     # BOM + header + rows, line by line (streams)
    to_csv(header, rows) -> str                  # the whole file as one string
    csv_response(filename, header, rows) -> Response   # a streamed download

``rows`` may be any iterable (a generator over a large query streams row by row); each
row is a sequence of cell values (``None`` becomes an empty cell, dates ISO 8601).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal

from flask import Response, has_request_context, stream_with_context

BOM = "\ufeff"
SEPARATOR = ";"
# What makes Excel, LibreOffice or Google Sheets treat a cell as a formula or command.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
Cell = object


def safe_cell(value: Cell) -> str:
    """``value`` as text a spreadsheet shows rather than evaluates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, int | float | Decimal):
        return str(value)  # a number is never a formula, and "-5" must stay a number
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    # Leading spaces do not stop every spreadsheet from reading " =1+1" as a formula.
    if text.startswith(FORMULA_STARTS) or text.lstrip(" \n").startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _line(cells: Sequence[Cell]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=SEPARATOR, lineterminator="\r\n").writerow([safe_cell(c) for c in cells])
    return buffer.getvalue()


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[str]:
    """The file line by line, starting with the byte-order mark and the header."""
    yield BOM + _line(header)
    for row in rows:
        yield _line(row)


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    return "".join(csv_lines(header, rows))


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Response:
    """A streamed ``text/csv`` download (``filename`` is reduced to safe ASCII)."""
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", filename) or "export.csv"
    lines = csv_lines(header, rows)
    if has_request_context():
        lines = stream_with_context(lines)  # rows read from the database while streaming
    response = Response(lines, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
