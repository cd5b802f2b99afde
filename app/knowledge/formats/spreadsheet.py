"""Excel workbooks (.xlsx) into blocks, read by openpyxl.

Each visible sheet is a heading (its name), then its rows as sentences (`render_row`),
as a CSV file's are:

- the header is the first row with at least two cells filled; a line above it with a
  single cell (a sheet's own title or a note, "Price list, valid from 1 March") is a
  paragraph;
- values are the ones Excel last calculated (a formula's result, not the formula); a
  percentage reads as one ("15%"), a date as 2026-03-01, a currency amount with its
  symbol ("$1200"), a whole number without ".0";
- hidden sheets (lookup tables, scratch work) are left out, as are empty columns.

The workbook's title is the one in its properties (File > Info), else the file's name.
"""

from __future__ import annotations

import io
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from app.knowledge.formats.blocks import Block, collapse, table_blocks
from app.knowledge.formats.failures import refuse_locked, unreadable

if TYPE_CHECKING:  # openpyxl (0.2 s to import) is imported when a workbook is read
    from openpyxl.cell.read_only import EmptyCell, ReadOnlyCell

_CURRENCIES = "$€£¥₹"


def spreadsheet_blocks(raw: bytes, name: str) -> tuple[str | None, list[Block]]:
    """The title (from the workbook's properties) and every visible sheet's rows."""
    refuse_locked(raw, name, kind="Excel workbook", old=".xls", new=".xlsx")
    from openpyxl import load_workbook

    with unreadable(name, "Excel workbook"):
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        try:
            title = collapse(workbook.properties.title or "") or None
            blocks: list[Block] = []
            for sheet in workbook.worksheets:
                if sheet.sheet_state != "visible":
                    continue
                rows = [[_text(cell) for cell in row] for row in sheet.iter_rows()]
                sheet_blocks = _sheet(rows)
                if sheet_blocks:
                    blocks.append(Block("heading", collapse(sheet.title), 2))
                    blocks.extend(sheet_blocks)
        finally:
            workbook.close()
    return title, blocks


def _sheet(rows: list[list[str]]) -> list[Block]:
    rows = [row for row in rows if any(row)]
    used = [
        i for i in range(max((len(r) for r in rows), default=0)) if any(_at(r, i) for r in rows)
    ]
    rows = [[_at(row, i) for i in used] for row in rows]
    blocks: list[Block] = []
    for index, row in enumerate(rows):
        filled = [cell for cell in row if cell]
        if len(filled) >= 2:
            return blocks + table_blocks(rows[index + 1 :], row)
        blocks.append(Block("text", filled[0]))
    return blocks


def _at(row: list[str], index: int) -> str:
    return row[index] if index < len(row) else ""


def _text(cell: ReadOnlyCell | EmptyCell) -> str:
    """A cell's value as a reader sees it in Excel (see the module docstring)."""
    value: Any = cell.value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, int | float):
        number_format = getattr(cell, "number_format", "") or ""
        if "%" in number_format:
            return f"{_number(value * 100)}%"
        symbol = next((c for c in _CURRENCIES if c in number_format), "")
        return f"{symbol}{_number(value)}"
    return collapse(str(value))


def _number(value: float) -> str:
    """12.0 -> "12", 0.15 -> "0.15", 1234567.5 -> "1234567.5" (no exponent, no float noise)."""
    rounded = round(float(value), 9)
    if rounded.is_integer():
        return str(int(rounded))
    return format(rounded, "f").rstrip("0").rstrip(".")
