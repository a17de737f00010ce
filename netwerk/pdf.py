"""PDF documents (letters to families, reports for privacy officers) with fpdf2.

One small layer so every PDF looks alike and is built the same safe way: text only (no
HTML or markdown parsing, so content cannot smuggle in markup or links), control
characters removed, an embedded DejaVu font for Dutch diacritics, the letterhead from the
configuration, and "pagina X van Y" in the footer. Callers decide *what* goes in; the
privacy gate has already decided what they may put there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

from flask import current_app
from fpdf import FPDF
from fpdf.enums import XPos, YPos

FONT = "DejaVu"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
LINE = 5.5  # mm per line of body text


def clean(value: object) -> str:
    """Printable text: control characters dropped (a NUL or escape in stored text must not
    reach the PDF), tabs as spaces."""
    return _CONTROL.sub("", "" if value is None else str(value)).replace("\t", "    ")


@dataclass(frozen=True)
class Letterhead:
    name: str
    lines: tuple[str, ...] = ()

    @classmethod
    def from_config(cls) -> Letterhead:
        cfg = current_app.config
        return cls(cfg["LETTERHEAD_NAME"], tuple(cfg["LETTERHEAD_LINES"]))


def _font_dir() -> Path:
    return Path(str(resources.files("netwerk") / "data" / "fonts"))


class Document(FPDF):
    """An A4 document with letterhead, a title, body text, label/value facts and tables."""

    def __init__(self, title: str, letterhead: Letterhead, *, confidential: bool = True) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.doc_title, self.letterhead, self.confidential = clean(title), letterhead, confidential
        fonts = _font_dir()
        self.add_font(FONT, "", str(fonts / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(fonts / "DejaVuSans-Bold.ttf"))
        self.set_margins(20, 18, 20)
        self.set_auto_page_break(auto=True, margin=20)
        self.set_title(self.doc_title)
        self.set_author(clean(letterhead.name))
        self.set_creator("Netwerk")
        self.alias_nb_pages()
        self.add_page()

    # --- page furniture ---------------------------------------------------------------

    def header(self) -> None:
        self.set_font(FONT, "B", 10)
        self.cell(0, 5, clean(self.letterhead.name), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FONT, "", 8)
        for line in self.letterhead.lines:
            self.cell(0, 4, clean(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(4)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT, "", 8)
        left = "Vertrouwelijk" if self.confidential else ""
        self.cell(85, 5, left)
        self.cell(0, 5, f"pagina {self.page_no()} van {{nb}}", align="R")

    # --- content ------------------------------------------------------------------------

    def title_block(self, subtitle: str | None = None) -> None:
        self.set_font(FONT, "B", 15)
        self.multi_cell(0, 8, self.doc_title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if subtitle:
            self.set_font(FONT, "", 10)
            self.multi_cell(0, LINE, clean(subtitle), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(3)

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font(FONT, "B", 12)
        self.multi_cell(0, 7, clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def paragraph(self, text: str) -> None:
        self.set_font(FONT, "", 10.5)
        self.multi_cell(0, LINE, clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.5)

    def facts(self, rows: Sequence[tuple[str, object]], label_width: float = 50) -> None:
        for label, value in rows:
            self.set_font(FONT, "B", 10)
            y = self.get_y()
            self.multi_cell(label_width, LINE, clean(label), new_x=XPos.RIGHT, new_y=YPos.TOP)
            self.set_font(FONT, "", 10)
            self.multi_cell(0, LINE, clean(value) or "—", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_y(max(self.get_y(), y + LINE))

    def table(self, headings: Sequence[str], rows: Sequence[Sequence[object]],
              widths: Sequence[float] | None = None) -> None:
        """A table whose heading row repeats on every page it spans."""
        self.set_font(FONT, "", 9)
        with super().table(col_widths=tuple(widths) if widths else None, text_align="LEFT",
                           line_height=4.8, repeat_headings=1, first_row_as_headings=True) as table:
            heading = table.row()
            for text in headings:
                heading.cell(clean(text))
            for values in rows:
                row = table.row()
                for value in values:
                    row.cell(clean(value) or "—")
        self.ln(2)

    def render(self) -> bytes:
        return bytes(self.output())


def dutch_date(value: datetime | object) -> str:
    """"15 december 2026": letters and reports spell dates out, whatever the server locale."""
    months = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
              "oktober", "november", "december")
    return f"{value.day} {months[value.month - 1]} {value.year}"  # type: ignore[attr-defined]
