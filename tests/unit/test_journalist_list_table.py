"""`journalist list` lays its table out itself (journalist_cli.line_table): it must
still fit the terminal, keep hostile text inert and show styles on a terminal."""

from __future__ import annotations

import io

import pytest
from rich.cells import cell_len
from rich.console import Console

from journalist_cli.line_table import LineTable


def _table() -> LineTable:
    return LineTable(("", "id", "first line", "files"), flexible=2,
                     right_aligned=frozenset({3}), title="inbox: 3 messages")


def _render(table: LineTable, width: int, *, terminal: bool = False) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=terminal,
                      color_system="standard" if terminal else None)
    table.print(console)
    return out.getvalue()


@pytest.mark.parametrize("width", [40, 80, 200])
def test_every_line_fits_the_width_and_long_text_ends_with_an_ellipsis(width: int) -> None:
    table = _table()
    table.add_row((("●", ""), ("3f2a9c1e", ""), ("word " * 100, ""), ("2", "")))
    table.add_section()
    table.add_row((("", ""), ("77aa0000", ""), ("報告" * 60, ""), ("", "")))
    lines = _render(table, width).splitlines()
    assert all(cell_len(line) <= width for line in lines), lines
    assert lines[-1].count("…") == 1 and "報告" in lines[-1]
    assert any("…" in line and "word" in line for line in lines)


def test_cells_line_up_and_numbers_are_right_aligned() -> None:
    table = _table()
    table.add_row((("●", ""), ("aaaa", ""), ("short", ""), ("12", "")))
    table.add_row((("", ""), ("bbbbbbbb", ""), ("x", ""), ("3", "")))
    lines = [line for line in _render(table, 60).splitlines() if "short" in line or " x " in line]
    assert lines[0].index("short") == lines[1].index("x")
    assert lines[0].endswith("12") and lines[1].endswith(" 3")


def test_markup_in_cells_is_shown_literally_and_row_styles_reach_a_terminal() -> None:
    table = _table()
    table.add_row((("●", ""), ("3f2a9c1e", ""), ("[bold red]not markup[/]", ""), ("", "")),
                  style="bold red")
    table.add_row((("", ""), ("77aa0000", ""), ("calm", "dim"), ("", "")))
    plain = _render(table, 80)
    assert "[bold red]not markup[/]" in plain and "\x1b" not in plain
    styled = _render(table, 80, terminal=True)
    assert "[bold red]not markup[/]" in styled
    emergency = next(line for line in styled.splitlines() if "not markup" in line)
    assert "\x1b[1;31m" in emergency
    calm = next(line for line in styled.splitlines() if "calm" in line)
    assert "\x1b[2m" in calm


def test_a_row_with_the_wrong_number_of_cells_is_refused() -> None:
    with pytest.raises(ValueError, match="one cell per column"):
        _table().add_row((("x", ""),))
