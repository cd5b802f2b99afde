"""One answer, composed from the passages its readers may see.

An owner-approved correction is answered as it stands. Otherwise the relevance gate reads
how likely the passages answer the question; below the workspace's threshold no model is
asked and the reply says who owns the topic. Above it, the backend writes the answer and
only citations that point into the given passages are kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import structlog

from app.answering import budgets, gate, near_words
from app.answering.backends.extractive import ExtractiveAnswerer
from app.answering.base import NOTE_ASKER_OWNS, Answerer, TextSink
from app.answering.citations import verify_citations
from app.answering.corpus import RetrievedPassages
from app.answering.declined import (
    NEAREST_PROBABILITY,
    Names,
    PassedOn,
    asker_only_viewing,
    nearest_page,
    no_answer_text,
)
from app.answering.queue import at_the_model
from app.config.workspace import TrellisConfig
from app.domain import (
    OUTSIDER_PRINCIPALS,
    AccessScope,
    AnswerStatus,
    Citation,
    Passage,
    Turn,
    Usage,
)
from app.trust import tracing
from app.trust.corrections import Curated

log = structlog.get_logger(__name__)

NOTE_ASKER_ONLY = "answered for the asker only"
"""Note of a reply in a conversation whose asker alone is answered: nothing went unanswered,
so nothing is passed on to the owners."""

ABOUT_PROBABILITY = 0.25
"""A document is about a question it did not answer, and its owners the ones to hear it,
only when the gate, reading that document alone, gives an answer from it at least this
probability: half the odds the default threshold (0.5) needs to answer. Measured on the
demo with the gate's current weights, the parental-leave policy scored 0.38 for parental
leave in a country it does not cover, while documents merely near a question (a holiday
list or the handbook for a parking, a pet or a salary question) scored at most 0.08: their
words cover too little of it. (With the earlier, word-heavy weights: 0.29 to 0.33 against
at most 0.18, on two workspaces.)"""


@dataclass(frozen=True)
class Reply:
    """One answer as a reader will see it."""

    status: AnswerStatus
    text: str
    citations: tuple[Citation, ...] = ()
    confidence: float = 0.0
    notes: tuple[str, ...] = ()
    scope_label: str = ""
    owners: tuple[str, ...] = ()
    answer_id: str | None = None
    backend: str | None = None
    model: str | None = None
    usage: Usage = Usage()
    nearest: str | None = None
    """Of a reply that does not answer: the page its readers may see that came closest
    (`nearest_page`), shown under it (`declined.closest_page`), not in its text."""


async def compose(
    config: TrellisConfig,
    text: str,
    passages: Sequence[Passage],
    history: Sequence[Turn],
    scope: AccessScope,
    route: budgets.Route,
    curated: Curated | None,
    *,
    on_text: TextSink | None = None,
    names: Names = str,
    here: str = "",
    asker: Callable[[str], bool] | None = None,
) -> Reply:
    """One answer, as a span of its question's trace: the gate, the model call and the
    citation check are spans within it. `on_text`: where a backend that streams hands its
    provisional text (before the checks below); `names`: how owners are named to the reader;
    `here`: the name of the channel it is asked in (a reply does not send the asker there);
    `asker`: whether an owner is the asker alone (a question is not passed on to its asker)."""
    with tracing.span("trellis.answer", {"trellis.answer.passages": len(passages)}) as span:
        reply = await _compose(
            config,
            text,
            passages,
            history,
            scope,
            route,
            curated,
            on_text=on_text,
            names=names,
            here=here,
            asker=asker,
        )
        tracing.attributes(
            span,
            {
                "trellis.answer.status": reply.status.value,
                "trellis.answer.backend": reply.backend,
                "trellis.answer.confidence": reply.confidence,
                "trellis.answer.citations": len(reply.citations),
            },
            private={"trellis.answer.text": reply.text},
        )
        return reply


async def _compose(
    config: TrellisConfig,
    text: str,
    passages: Sequence[Passage],
    history: Sequence[Turn],
    scope: AccessScope,
    route: budgets.Route,
    curated: Curated | None,
    *,
    on_text: TextSink | None = None,
    names: Names = str,
    here: str = "",
    asker: Callable[[str], bool] | None = None,
) -> Reply:
    if curated is not None:
        return Reply(
            AnswerStatus.ANSWERED,
            curated.text,
            curated.citations,
            curated.confidence,
            notes=(curated.note,),
            owners=owners_of(passages, config),
            scope_label=scope.label,
            backend="curated",
        )
    # The gate: how likely these passages answer the question. Below the threshold no
    # model is asked at all, and the question goes to the owners.
    # The words the reading compares by meaning are embedded off the event loop first.
    await asyncio.to_thread(near_words.prepare_for, text, passages)
    with tracing.span("trellis.gate") as span:
        inputs, reading = gate.read(text, passages, history=history) if passages else (None, None)
        if inputs is not None and reading is not None:
            # The judge's model reads question and quotes together, off the event loop.
            inputs = await asyncio.to_thread(
                partial(gate.judged, text, inputs, reading, history=history)
            )
        support = gate.confidence(inputs) if inputs is not None else 0.0
        passed = support > 0.0 and support >= config.answers.min_confidence
        # Why an answer was or was not given, for an operator reading at DEBUG.
        log.debug(
            "gate_decided",
            support=round(support, 3),
            threshold=config.answers.min_confidence,
            passed=passed,
            passages=len(passages),
            **(
                {k: round(v, 3) if isinstance(v, float) else v for k, v in inputs.as_dict().items()}
                if inputs
                else {}
            ),
            quoted=[c.doc_id for c in reading.citations] if reading is not None else [],
        )
        tracing.attributes(
            span,
            {
                "trellis.gate.support": round(support, 3),
                "trellis.gate.judged": inputs is not None and inputs.judged is not None,
                "trellis.gate.threshold": config.answers.min_confidence,
                "trellis.gate.passed": passed,
            },
        )
    # The reply when the documents do not answer it, and to whom the question goes.
    unanswered = partial(
        _unanswered,
        text,
        passages,
        history,
        config,
        scope,
        names=names,
        here=here,
        asker=asker,
        nearest=nearest_page(reading, passages) if support >= NEAREST_PROBABILITY else None,
    )
    if not passed:
        return unanswered(confidence=support)
    if reading is not None and type(route.answerer) is ExtractiveAnswerer:
        model_answer = route.answerer.reuse(reading)
    else:
        # The extractive answerer (and what stands in for it) works on this process's CPU;
        # while a question waits on a model, its place goes to another (app/answering/queue.py).
        local = route.answerer.name == ExtractiveAnswerer.name
        async with nullcontext() if local else at_the_model():
            # Only a backend that streams takes `on_text` (the Answerer protocol has no such
            # argument): the others answer whole.
            streaming: dict[str, Any] = (
                {"on_text": on_text} if _streams(route.answerer, on_text) else {}
            )
            model_answer = await route.answerer.answer(
                question=text, passages=passages, history=history, model=route.model, **streaming
            )
    if route.note:
        model_answer = replace(model_answer, notes=(*model_answer.notes, route.note))
    with tracing.span("trellis.citations") as span:
        kept, rejected = verify_citations(model_answer.citations, passages)
        tracing.attributes(
            span,
            {"trellis.citations.kept": len(kept), "trellis.citations.rejected": len(rejected)},
            private={"trellis.citations.doc_ids": [c.doc_id for c in kept]},
        )
    # The extractive answer is the gate's own reading; a model's answer is only as good as
    # the share of it its citations carry, too.
    confidence = (
        support if model_answer.backend == "extractive" else min(support, model_answer.confidence)
    )
    if not model_answer.text.strip() or not kept or confidence < config.answers.min_confidence:
        declined = unanswered(confidence=confidence)
        return replace(
            declined,
            notes=(*model_answer.notes, *declined.notes),
            backend=model_answer.backend,
            model=model_answer.model,
            usage=model_answer.usage,
        )
    return Reply(
        AnswerStatus.ANSWERED,
        model_answer.text,
        tuple(kept),
        round(confidence, 3),
        notes=model_answer.notes,
        owners=owners_of(passages, config),
        scope_label=scope.label,
        backend=model_answer.backend,
        model=model_answer.model,
        usage=model_answer.usage,
    )


def _streams(answerer: Answerer, on_text: TextSink | None) -> bool:
    return on_text is not None and bool(getattr(answerer, "streams_text", False))


def adds_to(
    public: Reply, private: Reply | None, *, beyond_public: Collection[str]
) -> Reply | None:
    """The asker's private answer when it tells them more than the conversation's answer,
    else None. It is shown only when it is answered, cites at least one document the
    conversation's answer may not use (one of `beyond_public`: a document not everyone
    reading the conversation may see), and its text differs from the conversation's
    answer. A private answer that repeats the public one, or rests only on documents
    everyone there may read, adds nothing: the asker is not sent it."""
    if private is None or private.status != AnswerStatus.ANSWERED:
        return None
    cites_more = any(c.doc_id in beyond_public for c in private.citations)
    differs = " ".join(private.text.split()) != " ".join(public.text.split())
    return private if cites_more and differs else None


def for_asker_only(
    public: Reply,
    private: Reply | None,
    config: TrellisConfig,
    *,
    viewing: str | None = None,
    names: Names = str,
    outsiders: bool = False,
    here: str = "",
) -> Reply:
    """The conversation's reply when it could not be answered for everyone in it but its
    asker is answered privately (`private`). In the conversation it reads as any reply
    nobody could answer, less the promise to pass the question on (nothing went
    unanswered): saying the answer rests on documents some there may not read would tell
    them such documents exist. `viewing`: the channel answered for from the asker's own
    thread with Trellis (the assistant view), which only the asker reads, so it is told
    plainly to keep the answer out of that channel. `names` and `outsiders` as for
    `no_answer_text`."""
    if private is None or public.status != AnswerStatus.NO_ANSWER:
        return public
    text = (
        no_answer_text(
            public.owners,
            config,
            names=names,
            outsiders=outsiders,
            passed_on=PassedOn.NOTHING_UNANSWERED,
            here=here,
        )
        if viewing is None
        else asker_only_viewing(viewing)
    )
    return replace(public, text=text, owners=(), notes=(*public.notes, NOTE_ASKER_ONLY))


def owners_of(passages: Sequence[Passage], config: TrellisConfig) -> tuple[str, ...]:
    owners = [p.owner for p in passages if p.owner]
    return tuple(dict.fromkeys(owners))[:3] or config.default_owners


def about_question(
    question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()
) -> list[Passage]:
    """The passages of owned documents clearly about a question they did not answer, whose
    owners should hear of it: each document is read by the gate on its own, with its best
    segment's similarity (or, without vectors, its words alone), and counts when that gives
    at least `ABOUT_PROBABILITY`. A document near the question in meaning or sharing a word
    with it does not. None: the question goes to the workspace's fallback
    (`default_owners`). The passages are only those the audience may see; a follow-up is
    read with the thread's earlier turns (`history`), as the gate read it."""
    by_document: dict[str, list[Passage]] = {}
    for passage in passages:
        if passage.owner:
            by_document.setdefault(passage.doc_id, []).append(passage)
    about: list[Passage] = []
    for own in by_document.values():
        its = alone(passages, own)
        # A document too far from the question in meaning is not read at all.
        if gate.ceiling(its) < ABOUT_PROBABILITY:
            continue
        inputs, _ = gate.read(question, its, history=history)
        if gate.confidence(inputs) >= ABOUT_PROBABILITY:
            about += own
    return about


def alone(passages: Sequence[Passage], own: Sequence[Passage]) -> Sequence[Passage]:
    """One document's passages as the gate reads them: with the corpus statistics of the
    whole retrieval, and its own best similarity in place of the retrieval's best."""
    if not isinstance(passages, RetrievedPassages):
        return own
    evidence = passages.evidence
    if evidence is not None:
        evidence = replace(evidence, best_similarity=max(p.similarity for p in own))
    return RetrievedPassages(own, passages.corpus, evidence)


def seen_by_outsiders(scope: AccessScope) -> bool:
    """Whether someone outside the directory (a guest, an external member) reads what is
    shown to this scope."""
    return OUTSIDER_PRINCIPALS in scope.viewers


def _unanswered(
    text: str,
    passages: Sequence[Passage],
    history: Sequence[Turn],
    config: TrellisConfig,
    scope: AccessScope,
    *,
    names: Names,
    here: str,
    asker: Callable[[str], bool] | None,
    confidence: float,
    nearest: str | None = None,
) -> Reply:
    """The reply to a question the documents do not answer, passed on to the owners of its
    topic but its asker: an asker who alone owns its documents is told so, and nothing is
    passed on (`NOTE_ASKER_OWNS`; the owners stay named, as the conversation reads them).
    The workspace's fallback, when no document is about the question, is no owner."""
    about = about_question(text, passages, history)
    owners = owners_of(about, config)
    mine = asker if asker is not None and any(p.owner for p in about) else None
    others = tuple(o for o in owners if not mine(o)) if mine is not None else owners
    owns = len(others) < len(owners)
    said = no_answer_text(
        others,
        config,
        names=names,
        outsiders=seen_by_outsiders(scope),
        here=here,
        passed_on=PassedOn.ASKER_OWNS if owns and not others else PassedOn.TO_OWNERS,
    )
    return Reply(
        AnswerStatus.NO_ANSWER,
        said,
        confidence=confidence,
        notes=(NOTE_ASKER_OWNS,) if owns and not others else (),
        owners=others or owners,
        scope_label=scope.label,
        nearest=nearest,
    )
