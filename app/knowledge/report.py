"""What one run of ingest did: documents added, updated, unchanged and removed, chunks
written, and what it could not index and why (errors and warnings, each naming its file)."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.errors import WorkspaceError


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    """Chunks written in this run (added and updated documents)."""
    visible_to_nobody: int = 0
    """Documents with no access rule anywhere, or whose access names nobody the directory
    knows: indexed, but never returned."""
    nobody: list[str] = field(default_factory=list)
    """Their paths, relative to `knowledge/`."""
    skipped: int = 0
    """Files of types not read (each also a warning, pictures aside)."""
    too_long: int = 0
    """Documents over the size limit, left as indexed before (each also a warning)."""
    errors: list[WorkspaceError] = field(default_factory=list)
    warnings: list[WorkspaceError] = field(default_factory=list)
    """Indexed anyway, e.g. without a link that is not allowed."""

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        parts = [
            f"{self.added} added",
            f"{self.updated} updated",
            f"{self.unchanged} unchanged",
            f"{self.removed} removed",
            f"{self.chunks} chunks written",
        ]
        if self.visible_to_nobody:
            parts.append(f"{self.visible_to_nobody} visible to nobody")
        if self.too_long:
            parts.append(f"{self.too_long} too long to index")
        if self.errors:
            parts.append(f"{len(self.errors)} errors")
        return ", ".join(parts)


def read_again(count: int) -> str:
    """What the owners are told of `count` knowledge files they were told of, read again."""
    files = "1 file" if count == 1 else f"{count} files"
    return f"Trellis reads {files} of knowledge/ again: its documents are served as they are now."


def could_not_read(count: int) -> str:
    """What the owners and the operator are told of `count` unreadable knowledge files."""
    files = "1 file" if count == 1 else f"{count} files"
    return (
        f"Trellis could not read {files} of knowledge/. Until each is fixed, the last good "
        "version of its documents keeps being served (a document never read is not served):"
    )
