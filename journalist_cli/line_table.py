"""A table printed as pre-laid-out lines: the inbox listing of 10,000 messages.

`rich.table.Table` measures, wraps and crops every cell through several
layers of renderables: about 2 ms a row, so 20 s for a 10,000-message inbox,
ten times the cost of decrypting it. This table lays columns out once, fits
each cell to its column itself, and hands rich ready-made segments.

Cells are plain strings that are written as they are: callers must pass
only text that went through `escape_terminal` (no control or format
characters). Nothing is ever parsed as rich markup.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.segment import Segment, Segments
from rich.style import Style

Cell = tuple[str, str]  # (text, style)

_GAP = " │ "
_ELLIPSIS = "…"
_MIN_FLEXIBLE = 12


def _width(text: str) -> int:
    """Terminal cells `text` takes; cells hold no control characters, so ASCII is 1 each."""
    return len(text) if text.isascii() else cell_len(text)


@dataclass
class LineTable:
    """Columns with headers; one column (`flexible`) takes the remaining width and
    is cut with an ellipsis, the others are as wide as their widest cell. When
    they leave the flexible column under 12 cells, lines are wider than the
    console and the terminal wraps them."""

    headers: tuple[str, ...]
    flexible: int
    right_aligned: frozenset[int] = frozenset()
    title: str = ""
    _rows: list[tuple[tuple[Cell, ...], str] | None] = field(default_factory=list)

    def add_row(self, cells: tuple[Cell, ...], style: str = "") -> None:
        """Add a row of (text, style) cells; `style` applies under every cell's own."""
        if len(cells) != len(self.headers):
            raise ValueError("a row needs one cell per column")
        self._rows.append((cells, style))

    def add_section(self) -> None:
        """A rule between groups of rows."""
        self._rows.append(None)

    def _widths(self, total: int) -> list[int]:
        widths = [_width(h) for h in self.headers]
        for row in self._rows:
            if row is not None:
                for column, (text, _style) in enumerate(row[0]):
                    if column != self.flexible:
                        widths[column] = max(widths[column], _width(text))
        fixed = sum(w for c, w in enumerate(widths) if c != self.flexible)
        room = total - fixed - len(_GAP) * (len(widths) - 1)
        widths[self.flexible] = max(_MIN_FLEXIBLE, room)
        return widths

    def _fit(self, text: str, width: int, column: int) -> str:
        size = _width(text)
        if size > width:
            return set_cell_size(text, width - 1) + _ELLIPSIS
        padding = " " * (width - size)
        return padding + text if column in self.right_aligned else text + padding

    def _segments(self, width: int) -> Iterator[Segment]:
        widths = self._widths(width)
        line_width = sum(widths) + len(_GAP) * (len(widths) - 1)
        styles: dict[str, Style] = {}

        def style_of(name: str) -> Style:
            if name not in styles:
                styles[name] = Style.parse(name) if name else Style()
            return styles[name]

        newline = Segment.line()
        if self.title:
            yield Segment(self.title.center(line_width).rstrip(), style_of("italic"))
            yield newline
        header = _GAP.join(self._fit(h, w, c)
                           for c, (h, w) in enumerate(zip(self.headers, widths, strict=True)))
        yield Segment(header.rstrip(), style_of("bold"))
        yield newline
        rule = Segment("─" * line_width, style_of("dim"))
        yield rule
        yield newline
        for row in self._rows:
            if row is None:
                yield rule
                yield newline
                continue
            cells, row_style = row
            # Adjacent cells of one style become one segment: usually one per row.
            pieces: list[str] = []
            current = row_style
            for column, ((text, cell_style), cell_width) in enumerate(
                    zip(cells, widths, strict=True)):
                combined = f"{row_style} {cell_style}".strip() if cell_style else row_style
                if combined != current:
                    yield Segment("".join(pieces), style_of(current))
                    pieces, current = [], combined
                pieces.append(self._fit(text, cell_width, column))
                if column < len(cells) - 1:
                    if current != row_style:
                        yield Segment("".join(pieces), style_of(current))
                        pieces, current = [], row_style
                    pieces.append(_GAP)
            yield Segment("".join(pieces).rstrip(), style_of(current))
            yield newline

    def print(self, console: Console) -> None:
        """Print the table in one write, fitted to the console's width."""
        console.print(Segments(self._segments(console.width)), crop=False, soft_wrap=True)
