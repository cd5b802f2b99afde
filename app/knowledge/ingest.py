"""Bring the knowledge index in line with the files in `knowledge/`.

Each document is fingerprinted over its bytes *and* its resolved metadata and access, so
only what changed is re-indexed, and an `_access.yml` edit re-indexes what it governs.
A file is not even read while its stamp is the one recorded when it was last read (its
bytes, its path, the `_access.yml` files above it, the reader and model versions, the
allowed links): finding that nothing changed costs a hash of each file, not a parse.
Documents whose files are gone are removed. A broken file (or a broken `_access.yml`
above it, or an id used twice) is reported and its previously indexed version is kept:
the index always serves the last good version. So is a document with more text than the
limit (`app/knowledge/limits.py`), with a warning.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from app.config.links import url_allowed
from app.db.base import utcnow
from app.db.models.knowledge import Document
from app.db.repositories.knowledge import Fingerprint, KnowledgeRepository
from app.db.session import Database
from app.errors import BrokenAccessRule, WorkspaceError
from app.knowledge.access_rules import AccessRules, display_name
from app.knowledge.chunking import TextChunk, chunk_blocks
from app.knowledge.embeddings import TextEmbedder, shared_embedder
from app.knowledge.limits import MAX_DOCUMENT_CHARS, too_long
from app.knowledge.loaders import LoadedDocument, load_document
from app.knowledge.paths import document_files, scope_of, within
from app.knowledge.report import IngestReport
from app.knowledge.segments import IndexedChunk, index_chunks
from app.knowledge.stamps import read_stamps

EMBED_DOCUMENTS = 16
"""Changed documents embedded together in one call to the model."""
CHUNKER_VERSION = 12
"""Part of every fingerprint: bump it when chunking or indexing changes so everything
re-indexes."""

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class _Prepared:
    document: LoadedDocument
    access: tuple[str, ...]
    chunks: list[TextChunk]
    fingerprint: str
    refused_url: str | None = None
    read_stamp: str | None = None


async def ingest(
    database: Database,
    knowledge_dir: Path,
    *,
    workspace_root: Path | None = None,
    only: Path | None = None,
    progress: Progress | None = None,
    retrieval: str = "hybrid",
    embedder: TextEmbedder | None = None,
    allowed_url_prefixes: Sequence[str] | None = None,
    max_document_chars: int = MAX_DOCUMENT_CHARS,
    admits: Callable[[str], bool] | None = None,
) -> IngestReport:
    """Index `knowledge_dir` (or only the file or folder `only` inside it).

    With `retrieval` hybrid (the default), every changed chunk's segments are embedded by
    `embedder` (default: the process's shared model); keyword needs no model. Files are
    read, parsed and embedded in worker threads, so the event loop keeps serving. A
    front-matter `url` that `url_allowed` refuses is dropped, with a warning, and a
    document with more text than `max_document_chars` is not indexed, with a warning.
    `admits`: whether the directory knows an access principal (a group someone is in, a
    listed email), so a document whose access names nobody it knows is counted as visible
    to nobody, as one with no access at all is.
    """
    if retrieval == "hybrid" and embedder is None:
        embedder = shared_embedder()
    elif retrieval != "hybrid":
        embedder = None
    report = IngestReport()
    knowledge_dir, root, scope, rules, files = await asyncio.to_thread(
        _survey, knowledge_dir, workspace_root, only, report
    )
    # Paths whose indexed version stays as it is: broken files, ids claimed twice, too long.
    kept_paths: set[str] = set()
    model = embedder.model_id if embedder is not None else None
    async with database.session() as session:
        indexed = await KnowledgeRepository(session).fingerprints()
    stamps = await asyncio.to_thread(
        read_stamps,
        files,
        knowledge_dir,
        model,
        allowed_url_prefixes,
        max_document_chars,
        CHUNKER_VERSION,
    )
    for path in files:  # read every time: what its rule decides depends on other files
        if rules.named_by_pattern(path.relative_to(knowledge_dir).as_posix()):
            stamps.pop(path, None)
    by_path = {known.path: doc_id for doc_id, known in indexed.items()}
    unread: dict[str, str] = {}  # doc id -> path: files whose stamp is as last read
    to_read = []
    for path in files:
        relative = path.relative_to(knowledge_dir).as_posix()
        doc_id = by_path.get(relative)
        if doc_id is not None and indexed[doc_id].read_stamp == stamps.get(path, "-"):
            unread[doc_id] = relative
        else:
            to_read.append(path)
    if embedder is not None and to_read:
        # Before the documents are read: the load's ~110 MB transient must not stack on them.
        await asyncio.to_thread(embedder.warm_up)
    prepared = await _prepare_all(
        to_read, knowledge_dir, root, rules, report, kept_paths, model, allowed_url_prefixes
    )
    prepared = {
        doc_id: [
            replace(item, read_stamp=stamps.get(knowledge_dir / item.document.path))
            for item in items
        ]
        for doc_id, items in prepared.items()
    }
    for doc_id, items in list(prepared.items()):  # too long: left as indexed, with a warning
        for item in list(items):
            name = display_name(knowledge_dir / item.document.path, root)
            if (warning := too_long(name, item.document.text, max_document_chars)) is not None:
                report.warnings.append(warning)
                report.too_long += 1
                kept_paths.add(item.document.path)
                items.remove(item)
        if not items:
            del prepared[doc_id]

    ready = []
    for doc_id, items in prepared.items():
        conflict = await asyncio.to_thread(
            _duplicate_of, doc_id, items, indexed, scope, knowledge_dir, root, unread
        )
        if conflict is None:
            ready.append(items[0])
        else:
            report.errors.append(conflict)
            kept_paths.update(item.document.path for item in items)

    changed = []
    read_again: dict[str, str] = {}  # doc id -> stamp: read, and found as indexed
    access = {item.document.id: (item.document.path, item.access) for item in ready}
    if unread:
        async with database.reading() as session:
            lists = await KnowledgeRepository(session).access_lists(unread)
        access.update({doc_id: (unread[doc_id], lists[doc_id]) for doc_id in unread})
    for where, principals in access.values():
        if not any(map(admits, principals)) if admits else not principals:
            report.visible_to_nobody += 1
            report.nobody.append(where)
    report.unchanged += len(unread)
    for item in ready:
        known = indexed.get(item.document.id)
        if known is not None and known.content_hash == item.fingerprint:
            report.unchanged += 1
            if item.read_stamp is not None and known.read_stamp != item.read_stamp:
                read_again[item.document.id] = item.read_stamp
        else:
            changed.append(item)
    if read_again:
        async with database.session() as session:
            await KnowledgeRepository(session).set_read_stamps(read_again)
    # Changed documents are embedded a batch at a time (the model works best on many
    # segments at once) and each is saved in a transaction of its own.
    done = 0
    for start in range(0, len(changed), EMBED_DOCUMENTS):
        batch = changed[start : start + EMBED_DOCUMENTS]
        indexed_batch = await asyncio.to_thread(_index_batch, batch, embedder)
        for item, chunks in zip(batch, indexed_batch, strict=True):
            await _save(database, item, chunks, indexed.get(item.document.id), report)
        done += len(batch)
        if progress is not None:
            progress(done, len(changed))

    current_ids = {item.document.id for item in ready} | unread.keys()
    gone = {
        doc_id
        for doc_id, known in indexed.items()
        if doc_id not in current_ids and known.path not in kept_paths and within(known.path, scope)
    }
    if gone:
        async with database.session() as session:
            report.removed = await KnowledgeRepository(session).delete_documents(gone)
    report.nobody.sort()
    return report


async def _prepare_all(
    files: list[Path],
    knowledge_dir: Path,
    root: Path,
    rules: AccessRules,
    report: IngestReport,
    kept_paths: set[str],
    model: str | None,
    prefixes: Sequence[str] | None,
) -> dict[str, list[_Prepared]]:
    """Every readable file, grouped by document id."""
    prepared: dict[str, list[_Prepared]] = {}
    for path in files:
        try:
            item = await asyncio.to_thread(
                _prepare, path, knowledge_dir, root, rules, model, prefixes
            )
        except WorkspaceError as exc:
            report.errors.append(exc)
            item = None
        if item is None:
            kept_paths.add(path.relative_to(knowledge_dir).as_posix())
        else:
            prepared.setdefault(item.document.id, []).append(item)
            if item.refused_url is not None:
                report.warnings.append(url_refused(display_name(path, root), item.refused_url))
    return prepared


def _index_batch(items: list[_Prepared], embedder: TextEmbedder | None) -> list[list[IndexedChunk]]:
    """`index_chunks` for several documents with one call to the model."""
    everything = [(item.document.title, chunk) for item in items for chunk in item.chunks]
    indexed = index_chunks(
        [chunk for _, chunk in everything],
        titles=[title for title, _ in everything],
        embedder=embedder,
    )
    result, start = [], 0
    for item in items:
        result.append(indexed[start : start + len(item.chunks)])
        start += len(item.chunks)
    return result


async def _save(
    database: Database,
    item: _Prepared,
    chunks: list[IndexedChunk],
    known: Fingerprint | None,
    report: IngestReport,
) -> None:
    async with database.session() as session:
        await KnowledgeRepository(session).save_document(
            _record(item), access=item.access, chunks=chunks
        )
    report.chunks += len(item.chunks)
    if known is None:
        report.added += 1
    else:
        report.updated += 1


def _survey(
    knowledge_dir: Path, workspace_root: Path | None, only: Path | None, report: IngestReport
) -> tuple[Path, Path, str | None, AccessRules, list[Path]]:
    knowledge_dir = knowledge_dir.resolve()
    root = (workspace_root or knowledge_dir.parent).resolve()
    if not knowledge_dir.is_dir():
        raise WorkspaceError(display_name(knowledge_dir, root), "the knowledge folder is missing")
    scope = scope_of(only, knowledge_dir, root)
    rules = AccessRules.load(knowledge_dir, display_root=root)
    report.errors.extend(rules.errors)
    return knowledge_dir, root, scope, rules, document_files(knowledge_dir, scope, report)


def url_refused(name: str, url: str) -> WorkspaceError:
    return WorkspaceError(
        name,
        f"url not allowed: {url[:200]!r} is not an http(s) link under "
        "knowledge.allowed_url_prefixes in trellis.yml; its citations show no link",
    )


def _prepare(
    path: Path,
    knowledge_dir: Path,
    root: Path,
    rules: AccessRules,
    model: str | None,
    prefixes: Sequence[str] | None = None,
) -> _Prepared | None:
    """Load, resolve access, chunk and fingerprint one file.

    None when a broken `_access.yml` would decide its access (that error is reported once).
    """
    document = load_document(path, knowledge_dir=knowledge_dir, workspace_root=root)
    refused = document.url if document.url and not url_allowed(document.url, prefixes) else None
    if refused is not None:
        document = replace(document, url=None)
    try:
        access = rules.resolve(document.path, document.access).principals
    except BrokenAccessRule:
        return None
    if document.owner is None:  # its folder's owner, when an _access.yml names one
        document = replace(document, owner=rules.owner_of(document.path))
    chunks = chunk_blocks(document.blocks, title=document.title)
    fingerprint = _fingerprint(document, access, model)
    return _Prepared(document, access, chunks, fingerprint, refused)


def _fingerprint(document: LoadedDocument, access: tuple[str, ...], model: str | None) -> str:
    facts = {
        "chunker": CHUNKER_VERSION,
        "embedder": model,
        "bytes": document.content_hash,
        "id": document.id,
        "path": document.path,
        "title": document.title,
        "url": document.url,
        "owner": document.owner,
        "status": str(document.status),
        "updated": document.updated.isoformat() if document.updated else None,
        "supersedes": document.supersedes,
        "tags": list(document.tags),
        "access": sorted(access),
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def _record(item: _Prepared) -> Document:
    document = item.document
    return Document(
        id=document.id,
        path=document.path,
        title=document.title,
        url=document.url,
        owner=document.owner,
        status=str(document.status),
        updated=document.updated,
        supersedes=document.supersedes,
        tags=list(document.tags),
        content_hash=item.fingerprint,
        read_stamp=item.read_stamp,
        ingested_at=utcnow(),
    )


def _duplicate_of(
    doc_id: str,
    items: list[_Prepared],
    indexed: dict[str, Fingerprint],
    scope: str | None,
    knowledge_dir: Path,
    root: Path,
    unread: dict[str, str],
) -> WorkspaceError | None:
    """An error when `doc_id` is claimed by more than one file, else None (`unread`: the
    files not read again, by the id they hold)."""
    paths = [item.document.path for item in items]
    known = indexed.get(doc_id)
    if len(paths) == 1 and doc_id in unread and unread[doc_id] != paths[0]:
        paths.append(unread[doc_id])  # a file as last read holds the id
    elif (
        len(paths) == 1
        and known is not None
        and known.path != paths[0]
        and not within(known.path, scope)
    ):
        # Ingesting part of the tree: the indexed copy may come from a file outside it.
        other = knowledge_dir / known.path
        if other.is_file():
            try:
                other_id = load_document(other, knowledge_dir=knowledge_dir, workspace_root=root).id
            except WorkspaceError:
                other_id = doc_id
            if other_id == doc_id:
                paths.append(known.path)
    if len(paths) == 1:
        return None
    names = [display_name(knowledge_dir / p, root) for p in sorted(paths)]
    return WorkspaceError(
        names[0],
        f"id {doc_id!r} is used by more than one file: {', '.join(names)}; "
        "give each document its own id",
    )
