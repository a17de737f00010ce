"""PDF documents (letters to families, reports for privacy officers) with fpdf2.

One small layer so every PDF looks alike and is built the same safe way: text only (no
HTML or markdown parsing, so content cannot smuggle in markup or links), control
characters removed, an embedded DejaVu font for Dutch diacritics, the letterhead from the
configuration, and "pagina X van Y" in the footer. Callers decide *what* goes in; the
privacy gate has already decided what they may put there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
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

    def grid(self, headings: Sequence[str], rows: Iterable[Sequence[object]], widths: Sequence[float],
             size: float = 8, line_height: float = 3.7) -> None:
        """A ruled table for long listings (thousands of rows): the heading row repeats on
        every page; words wrap within a column; a row never splits across pages.

        :meth:`table` (fpdf2's table) costs ~10 ms a row. This one costs well under 1 ms:
        wrapping is cached per distinct text and measured with the font's advance widths,
        each distinct text is encoded once (a listing repeats the same organisations,
        purposes and dates), and the column rules are drawn once per page instead of a box
        per cell.
        """
        pad = 1.0
        wrapped: dict[tuple[str, float, str], list[str]] = {}
        encoded: dict[tuple[int, str], str] = {}
        edges = [self.l_margin]
        for width in widths:
            edges.append(edges[-1] + width)
        top = self.get_y()

        def measure(text: str) -> float:
            # The font's own advance widths (what get_string_width sums, without its
            # per-call bidi and markdown set-up, which costs more than the sum itself).
            return self.current_font.get_text_width(text, self.font_size_pt, None)[1] / self.k  # type: ignore[union-attr]

        def rule_columns() -> None:
            for x in edges:
                self.line(x, top, x, self.get_y())

        def draw(cells: Sequence[object], style: str) -> None:
            nonlocal top
            if self.font_style != style:
                self.set_font(FONT, style, size)
            texts = []
            for cell, width in zip(cells, widths, strict=True):
                key = (clean(cell) or "—", width, style)
                if key not in wrapped:
                    wrapped[key] = _wrap(measure, key[0], width - 2 * pad)
                texts.append(wrapped[key])
            height = max(len(t) for t in texts) * line_height + 2 * pad
            if style == "" and self.get_y() + height > self.page_break_trigger:
                rule_columns()
                self.add_page()
                top = self.get_y()
                self.line(edges[0], top, edges[-1], top)
                draw(headings, "B")
                self.set_font(FONT, style, size)
            y = self.get_y()
            for lines, x in zip(texts, edges, strict=False):
                for i, line in enumerate(lines):
                    # the baseline: one line down, less the descent
                    self._grid_text(x + pad, y + pad + (i + 0.75) * line_height, line, encoded)
            self.line(edges[0], y + height, edges[-1], y + height)
            self.set_y(y + height)

        self.set_font(FONT, "B", size)
        self.line(edges[0], top, edges[-1], top)
        draw(headings, "B")
        for row in rows:
            draw(row, "")
        rule_columns()
        self.set_x(self.l_margin)
        self.ln(2)

    def _grid_text(self, x: float, y: float, text: str, encoded: dict[tuple[int, str], str]) -> None:
        """What :meth:`FPDF.text` writes (in the default colours, without underline), with
        the font encoding of each distinct text computed once."""
        font = self.current_font
        key = (id(font), text)
        if key not in encoded:
            encoded[key] = font.encode_text(self.normalize_text(text))  # type: ignore[union-attr]
        if not self.current_font_is_set_on_page:
            self._out(self._set_font_for_page(font, self.font_size_pt))  # type: ignore[arg-type]
        self._out(f"BT {x * self.k:.2f} {(self.h - y) * self.k:.2f} Td {encoded[key]} ET")

    def render(self) -> bytes:
        return bytes(self.output())


def dutch_date(value: datetime | object) -> str:
    """"15 december 2026": letters and reports spell dates out, whatever the server locale."""
    months = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
              "oktober", "november", "december")
    return f"{value.day} {months[value.month - 1]} {value.year}"  # type: ignore[attr-defined]


def _wrap(measure: Callable[[str], float], text: str, width: float) -> list[str]:
    """``text`` broken into lines no wider than ``width`` (mm) by ``measure``; a word wider
    than a line is cut."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            trial = f"{line} {word}" if line else word
            if measure(trial) <= width:
                line = trial
                continue
            if line:
                out.append(line)
            while measure(word) > width and len(word) > 1:
                cut = max(1, int(len(word) * width / measure(word)))
                out.append(word[:cut])
                word = word[cut:]
            line = word
        out.append(line)
    return out or [""]


class LandscapeDocument(Document):
    """A :class:`Document` on A4 landscape pages, for wide listings."""

    def add_page(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        if not args and not kwargs.get("same"):
            kwargs.setdefault("orientation", "landscape")
        super().add_page(*args, **kwargs)  # type: ignore[arg-type]
