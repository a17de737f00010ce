"""The PDF layer (netwerk/pdf.py), read back with poppler: Dutch text survives, the font is
embedded, tables repeat their heading across pages, hostile text stays text."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

from flask import Flask

from config import Config
from netwerk.pdf import Document, Letterhead, clean, dutch_date

HEAD = Letterhead("Gemeente Alphen aan den Rijn", ("Stadhuisplein 1", "2405 AA Alphen aan den Rijn"))


def poppler(tool: str, pdf: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run([tool, *args, str(path), *(["-"] if tool == "pdftotext" else [])],
                          capture_output=True, text=True, check=True, timeout=30).stdout


def letter(title: str = "Brief aan ouders") -> Document:
    return Document(title, HEAD)


def test_the_letterhead_comes_from_the_configuration():
    app = Flask(__name__)
    app.config.update(LETTERHEAD_NAME="Gemeente Leiden", LETTERHEAD_LINES=("Postbus 9100",))
    with app.app_context():
        assert Letterhead.from_config() == Letterhead("Gemeente Leiden", ("Postbus 9100",))
    assert Config.LETTERHEAD_NAME and Config.LETTERHEAD_LINES  # a default for the demo


def test_dutch_text_and_the_letterhead_come_through(tmp_path):
    doc = letter("Uw gezin wordt besproken")
    doc.title_block("Brief van de gemeente")
    doc.paragraph("De zorgcoördinator neemt één dezer dagen contact op. Geëvalueerd: ja. Ça va, Müller.")
    doc.facts([("Datum", dutch_date(date(2026, 12, 15))), ("Leeg", None)])
    text = poppler("pdftotext", doc.render(), tmp_path)
    for expected in ("Gemeente Alphen aan den Rijn", "2405 AA Alphen aan den Rijn", "Uw gezin wordt besproken",
                     "zorgcoördinator neemt één", "Geëvalueerd", "Müller", "15 december 2026", "pagina 1 van 1",
                     "Vertrouwelijk"):
        assert expected in text, expected


def test_the_font_is_embedded(tmp_path):
    doc = letter()
    doc.paragraph("ë")
    fonts = poppler("pdffonts", doc.render(), tmp_path)
    rows = [line.split() for line in fonts.splitlines()[2:]]
    assert rows and all("DejaVu" in row[0] and row[-5] == "yes" for row in rows), fonts  # emb column


def test_a_long_table_repeats_its_heading_and_numbers_pages(tmp_path):
    doc = letter("Audit")
    rows = [(f"2026-11-{i % 28 + 1:02d}", f"Gebruiker {i}", "inzage") for i in range(150)]
    doc.table(["Wanneer", "Wie", "Wat"], rows, widths=(30, 60, 80))
    pdf = doc.render()
    pages = int(next(line.split()[-1] for line in poppler("pdfinfo", pdf, tmp_path).splitlines()
                     if line.startswith("Pages:")))
    text = poppler("pdftotext", pdf, tmp_path)
    assert pages >= 3
    assert text.count("Wanneer") == pages  # the heading row on every page
    assert f"pagina {pages} van {pages}" in text and "Gebruiker 149" in text


def test_hostile_text_stays_text(tmp_path):
    doc = letter()
    doc.paragraph("<b>vet</b> **ster** [link](https://example.test) \x00\x1b[31m" + "x" * 3000)
    text = poppler("pdftotext", doc.render(), tmp_path)
    assert "<b>vet</b>" in text and "**ster**" in text and "[link](https://example.test)" in text
    assert "\x00" not in text and "\x1b" not in text
    assert text.count("x") >= 3000  # a word longer than a line is wrapped, not dropped


def test_clean_drops_control_characters_but_keeps_newlines():
    assert clean("a\x00b\x07c\nd\te") == "abc\nd    e"
    assert clean(None) == ""
