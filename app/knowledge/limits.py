"""How much text Trellis indexes from one document.

Indexing takes time in proportion to the text (the model embeds every sentence): a
million characters take about a minute on a shared 2-core machine. A file far larger
than any document people read, such as a data dump saved as .md, would hold up every
start and every `trellis ask` for many minutes with nothing to show; above the limit a
document is skipped with a warning instead, and a version indexed before stays.
"""

from __future__ import annotations

from app.errors import WorkspaceError

MAX_DOCUMENT_CHARS = 1_000_000
"""About 400 dense pages; `knowledge: {max_document_chars: N}` in trellis.yml indexes more."""


def too_long(name: str, text: str, limit: int) -> WorkspaceError | None:
    """The warning for a document whose `text` is longer than `limit`, else None."""
    if len(text) <= limit:
        return None
    return WorkspaceError(
        name,
        f"has {len(text):,} characters of text, more than the {limit:,} Trellis indexes from "
        "one document, so it was not indexed (a version indexed before stays); split it into "
        "smaller documents, or raise the limit with knowledge.max_document_chars in trellis.yml",
    )
