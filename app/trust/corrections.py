"""Curated answers: an accepted correction is what Trellis says from then on.

When an owner accepts a correction, the answer they approved becomes a curated answer
resting on the sources they chose, and a case is appended to the workspace's eval set
(`evals/corrections.yml`) so a later change that loses the correction is caught.

Matching. A question matches a curated answer when their content words (stopwords and
question fillers dropped, lightly stemmed) overlap by at least `MATCH_THRESHOLD` of their
union, so "Which apology codes do I add to delayed shipments?" finds the answer curated for
"What apology code can I add to a delayed shipment?" while "… more than 10%?" does not find
"… more than 25%?". The closest match wins, then the newest.

Access. A curated answer is used only when every source it rests on is visible to the whole
audience (the same rule as retrieval); otherwise Trellis answers from the documents as
usual. A curated answer whose sources left the index, or no longer contain the sentences it
quotes, is never used (`support.py`: a correction is accepted only when its sources say it).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
import yaml

from app.config.workspace import EvalFile
from app.db.models.feedback import CuratedAnswer
from app.db.repositories.feedback import CuratedAnswerRepository
from app.db.session import DatabaseOrSession, reading_from
from app.domain import AccessScope, Citation
from app.knowledge.search import document_passages, get_documents
from app.text.words import question_terms
from app.trust.support import still_supported

log = structlog.get_logger(__name__)

MATCH_THRESHOLD = 0.75
CURATED_CONFIDENCE = 0.95
CORRECTIONS_FILE = "corrections.yml"
CORRECTIONS_HEADER = (
    "# Corrections accepted by document owners in Slack. Trellis appends a case here each\n"
    "# time an owner accepts one; edit or remove cases like any other eval case.\n"
)


@dataclass(frozen=True)
class Curated:
    """A curated answer as the pipeline uses it."""

    id: str
    question: str
    text: str
    citations: tuple[Citation, ...]
    approved_by: str
    approved_on: datetime
    similarity: float

    @property
    def doc_ids(self) -> tuple[str, ...]:
        return tuple(c.doc_id for c in self.citations)

    @property
    def confidence(self) -> float:
        return CURATED_CONFIDENCE

    @property
    def note(self) -> str:
        return f"Curated answer approved by {self.approved_by} on {self.approved_on:%Y-%m-%d}."


def terms_of(question: str) -> frozenset[str]:
    return frozenset(question_terms(question))


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


async def curated_answer_for(
    database_or_session: DatabaseOrSession, *, question: str, scope: AccessScope
) -> Curated | None:
    """The curated answer for `question` whose every source `scope` may see, if any."""
    wanted = terms_of(question)
    if not wanted or not scope.viewers:
        return None
    async with reading_from(database_or_session) as session:
        repository = CuratedAnswerRepository(session)
        # Matched on their terms alone; only a match is read whole.
        ranked = sorted(
            (
                (similarity(wanted, frozenset(terms.split())), created_at, curated_id)
                for curated_id, terms, created_at in await repository.active_terms()
            ),
            reverse=True,
        )
        for score, _, curated_id in ranked:
            if score < MATCH_THRESHOLD:
                return None
            curated = await repository.get(curated_id)
            if curated is None:
                continue
            doc_ids = list(curated.doc_ids or ())
            visible = await get_documents(session, scope=scope, doc_ids=doc_ids)
            if not doc_ids or len(visible) != len(set(doc_ids)):
                continue
            found = _curated(curated, score)
            sources = await document_passages(session, scope=scope, doc_ids=doc_ids)
            if still_supported(found.citations, sources):
                return found
            log.info("curated_answer_unsupported", curated=curated.id)
    return None


def _curated(row: CuratedAnswer, score: float) -> Curated:
    citations = tuple(
        Citation(
            doc_id=c["doc_id"],
            title=c.get("title") or c["doc_id"],
            quote=c.get("quote") or "",
            url=c.get("url"),
        )
        for c in row.citations or ()
    )
    return Curated(
        id=row.id,
        question=row.question,
        text=row.answer,
        citations=citations,
        approved_by=row.approved_by_name,
        approved_on=row.created_at,
        similarity=score,
    )


async def retire_matching(repository: CuratedAnswerRepository, question: str) -> list[str]:
    """Retire curated answers the new one replaces (same or closely matching question)."""
    wanted = terms_of(question)
    replaced = [
        c.id
        for c in await repository.active()
        if similarity(wanted, frozenset(c.terms.split())) >= MATCH_THRESHOLD
    ]
    await repository.retire(replaced)
    return replaced


def new_curated(
    *,
    curated_id: str,
    flag_id: str | None,
    question: str,
    answer: str,
    citations: Sequence[Citation],
    approver_email: str,
    approver_name: str,
    now: datetime,
) -> CuratedAnswer:
    return CuratedAnswer(
        id=curated_id,
        flag_id=flag_id,
        question=question,
        terms=" ".join(sorted(terms_of(question))),
        answer=answer,
        doc_ids=[c.doc_id for c in citations],
        citations=[c.as_dict() for c in citations],
        approved_by_email=approver_email,
        approved_by_name=approver_name,
        active=True,
        created_at=now,
    )


# --- The eval set ----------------------------------------------------------------------


def eval_case(*, case_id: str, question: str, asker: str, doc_ids: Sequence[str]) -> dict[str, Any]:
    return {
        "id": case_id,
        "question": question,
        "asker": asker,
        "expect_status": "answered",
        "expect_sources": list(doc_ids),
    }


def append_eval_case(workspace_root: Path, case: dict[str, Any]) -> Path:
    """Add `case` to evals/corrections.yml (created when missing); a case with the same id
    is replaced. The file is checked with the workspace's own schema and swapped in whole,
    so a reader never sees half of it."""
    folder = Path(workspace_root) / "evals"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CORRECTIONS_FILE
    existing: list[dict[str, Any]] = []
    if path.is_file():
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        existing = [c for c in loaded.get("cases") or [] if c.get("id") != case["id"]]
    data = {"cases": [*existing, case]}
    EvalFile.model_validate(data)
    text = CORRECTIONS_HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".corrections-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        # mkstemp makes the file readable by its owner alone; it is a workspace file like
        # the others (read by whoever reads the folder), so it gets theirs.
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.is_file() else _file_mode())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _file_mode() -> int:
    """The mode a new file gets here (0o666 less the process's umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
