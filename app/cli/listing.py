"""How `trellis versions` lays out the versions it lists: a table where the terminal is
wide enough for every version id whole, otherwise one block per version. A version id is
what `trellis rollback` takes, so it is never cut; the reasons wrap at word boundaries
and are never shortened.
"""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from app.db.models.versions import ConfigVersion

SCORES = (
    ("acc.", "status_accuracy"),
    ("prec.", "source_precision"),
    ("recall", "source_recall"),
    ("facts", "fact_recall"),
)
SEEN_FORMAT = "%m-%d %H:%M"
NARROWEST_REASON = 24
"""The fewest columns the reasons may wrap in before the table gives way to blocks."""
TABLE_EDGES = 3
"""Columns each table column costs besides its text: one border and two padding."""


def version_name(row: ConfigVersion, current: str | None) -> str:
    """The version id, marked when it is the version in the workspace folder now."""
    return row.version + (" *" if row.version == current else "")


def score_marks(row: ConfigVersion) -> list[str]:
    """Accuracy, precision, recall, fact recall and the number of cases; dashes when nothing
    was tested (or, for fact recall, by a version from before it was measured)."""
    scores = row.eval_scores or {}
    cases = scores.get("cases")
    if not cases:
        return [*("-" for _ in SCORES), str(cases if cases is not None else "-")]
    marks = [f"{scores[key]:.0%}" if key in scores else "-" for _, key in SCORES]
    return [*marks, str(cases)]


def why(row: ConfigVersion) -> str:
    """The gate's reason, left out for a live version that passed a tested eval."""
    tested = bool((row.eval_scores or {}).get("cases"))
    return "" if row.status == "live" and tested else row.reason


def table_width(rows: list[ConfigVersion], current: str | None) -> int:
    """The columns a table needs so that no id, status, date or score is cut."""
    fixed = [
        max([len("version"), *(len(version_name(row, current)) for row in rows)]),
        max([len("status"), *(len(row.status) for row in rows)]),
        max(len("seen (UTC)"), len(f"{datetime(2000, 12, 31, 23, 59):{SEEN_FORMAT}}")),
        *(
            max([len(title), *(len(score_marks(row)[i]) for row in rows)])
            for i, title in enumerate([*(title for title, _ in SCORES), "cases"])
        ),
    ]
    columns = len(fixed) + 1
    return sum(fixed) + NARROWEST_REASON + columns * TABLE_EDGES + 1


def versions_table(rows: list[ConfigVersion], current: str | None) -> Table:
    """The listing as a table; the reason column takes the width that is left and wraps."""
    table = Table(title="Workspace versions", title_justify="left")
    table.add_column("version", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("seen (UTC)", no_wrap=True)
    for title, _ in SCORES:
        table.add_column(title, justify="right", no_wrap=True)
    table.add_column("cases", justify="right", no_wrap=True)
    table.add_column("why", ratio=1, min_width=NARROWEST_REASON, overflow="fold")
    for row in rows:
        table.add_row(
            version_name(row, current),
            row.status,
            f"{row.created_at:{SEEN_FORMAT}}",
            *score_marks(row),
            escape(why(row)),
        )
    table.caption = "* the version in the workspace folder now"
    return table


def print_version_blocks(rows: list[ConfigVersion], current: str | None, console: Console) -> None:
    """The listing for a narrow terminal: the id and status on a line of their own, then
    the scores and the reason, wrapped."""
    console.print("Workspace versions", highlight=False)
    for row in rows:
        accuracy, precision, recall, facts, cases = score_marks(row)
        console.print(
            f"{version_name(row, current)}  {row.status}  {row.created_at:{SEEN_FORMAT}} UTC",
            highlight=False,
            no_wrap=True,
            overflow="ignore",
            crop=False,
        )
        scores = (
            f"accuracy {accuracy}, precision {precision}, recall {recall}, "
            f"fact recall {facts}, cases {cases}"
        )
        console.print(Padding(Text(scores), (0, 0, 0, 2), expand=False))
        reason = why(row)
        if reason:
            console.print(Padding(Text(f"why: {reason}"), (0, 0, 0, 2), expand=False))
    console.print("* the version in the workspace folder now", highlight=False)


def print_versions(rows: list[ConfigVersion], current: str | None, console: Console) -> None:
    """Every version as a table when the terminal is wide enough, otherwise as blocks."""
    if console.width >= table_width(rows, current):
        console.print(versions_table(rows, current))
    else:
        print_version_blocks(rows, current, console)
