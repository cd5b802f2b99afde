"""trellis.yml `knowledge:`: which links a citation may carry (`allowed_url_prefixes`), and
how much text is indexed from one document (`max_document_chars`).

A document's front-matter `url` becomes the link of every citation of it, so a document
could make a company-looking citation lead anywhere. Only http and https links are ever
kept; with `allowed_url_prefixes` set, only links under one of those prefixes. Ingest drops
any other link (with a warning naming the file) and the citation is shown without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, PositiveInt, StringConstraints, field_validator

SCHEMES = ("http", "https")
BOUNDARIES = ("/", "?", "#")


class KnowledgeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allowed_url_prefixes: (
        list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]] | None
    ) = None
    """Links a citation may carry, e.g. https://wiki.northwind.example/; None: any http(s)."""
    max_document_chars: PositiveInt | None = None
    """The most text indexed from one document, for every command that indexes; None:
    app/knowledge/limits.py's default."""

    @field_validator("allowed_url_prefixes")
    @classmethod
    def _web_prefixes(cls, value: list[str] | None) -> list[str] | None:
        for prefix in value or ():
            parts = urlsplit(prefix)
            if parts.scheme.lower() not in SCHEMES or not parts.netloc:
                raise ValueError(f"{prefix!r} is not an http:// or https:// address")
        return value


def url_allowed(url: str, prefixes: Sequence[str] | None) -> bool:
    """Whether a citation may link to `url`: http(s) only, and under one of `prefixes` when
    they are given (a prefix ends at a path boundary: https://a.example does not admit
    https://a.example.org)."""
    if url != url.strip() or any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme.lower() not in SCHEMES or not parts.netloc:
        return False
    if prefixes is None:
        return True
    return any(_under(url, prefix) for prefix in prefixes)


def _under(url: str, prefix: str) -> bool:
    # Scheme and host are case-insensitive; the path is compared as written.
    head = len(urlsplit(prefix).scheme) + 3 + len(urlsplit(prefix).netloc)
    if url[:head].lower() != prefix[:head].lower() or url[head : len(prefix)] != prefix[head:]:
        return False
    rest = url[len(prefix) :]
    return prefix.endswith(BOUNDARIES) or not rest or rest.startswith(BOUNDARIES)
