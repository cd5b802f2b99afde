"""Workflow drafts that follow the workflow's prompt, section by section, and say only
what their sources support.

A workflow prompt (`prompts/<workflow>.md`) lists what the draft must contain as numbered
or bulleted sections, "Title: instructions" ("2. Customer facts: annual volume, contract
and renewal date, payment terms ..."). `parse_sections` (`sections.py`) reads them; each
becomes one part of the draft, in the prompt's order, under its title:

    request   "Summary", "Request", "Overview": the request's own fields, no citations
    risks     "Risks", "Missing information", "Open questions": every fact of the other
              sections that is not on file, as a question for the approver
    facts     anything else: quoted from the documents, with citations

A facts section asks one question per fact it lists ("annual volume", "payment terms"):
the section's title, the fact and the request's values ("Customer facts: payment terms:
Alpine Co."). Each question is searched on its own (in the scope of everyone who reads
the card), and a document is used for it only when it passes the relevance gate for
that question (`gate.confidence` with `gate.DOCUMENT_WEIGHTS`, at least the workspace's
`min_confidence`, measured on that document's passages alone). Two more rules keep a
section on its subject:

- a section whose title names a request field ("Customer facts" and the field
  `customer`) uses only passages that mention that field's value ("Alpine Co."),
- a section whose text names a visible document by its title ("Policy check against the
  Wholesale Discount Guidelines") uses only that document when it is visible.

A prompt without sections (a list of rules for a reply) drafts what the request asks in
words (its text fields, "What the customer asked"): once from the documents that name the
request's subject ("Alpine Co."), gated on those words alone, once from all, searched and
gated as the kind of request it is (the workflow's title: "Expense claim: train tickets
to the Harbour Logistics site"), so a document that only shares a name with the request
is not quoted and the policy for that kind of request is. The gate leaves out the
request's numbers and the words no document the readers may see uses: they are this
request's particulars (a time, a client's site) that a policy states as a rule, and a
value no document knows (a new customer, a ticket number) does not withhold the policy
that answers it; a request made only of such words has nothing on file. When nothing
passes, the draft is the request in words and `NOTHING_ON_FILE`, a note for the approvers
that never goes out (`app/approvals/outward.py`).

The extractive answerer quotes the best sentences of the passing passages; when it quotes
a table whose rows state numeric ranges ("More than 10% and up to 25%"), the row whose
range holds the request's number is quoted instead. A document is cited once per draft:
its first quote is the citation, later sections reuse its number. A fact nothing
supports reads "not on file"; a policy section with nothing reads `NO_POLICY`. Nothing
that failed the gate is ever quoted. The same input always gives the same draft.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from app.answering import gate
from app.answering.backends.extractive import ExtractiveAnswerer
from app.answering.backends.sections import Section, SectionKind, details
from app.answering.citations import normalize_quote, quote_in
from app.answering.corpus import RetrievedPassages, corpus_of
from app.answering.ranges import points, range_row
from app.domain import Citation, Passage
from app.text.words import content_terms

NOT_ON_FILE = "not on file"
NO_POLICY = "No policy document visible to all approvers covers this request."
NOTHING_ON_FILE = "No document visible to everyone who reads this card answers this request."
MAX_RISKS = 3

_NAME = re.compile(r"[^\W\d_][\w&'’.,-]*(?: [\w&'’.,-]+){0,5}")
"""Up to six words, the first starting with a letter, none holding "@" or "/"."""

Retrieve = Callable[[str], Awaitable[RetrievedPassages]]


# --- the request -------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestField:
    name: str
    label: str
    value: str
    """As the draft writes it ("18%")."""
    kind: str = "string"
    """string (a short name: a section may be about it), number or text."""

    @property
    def is_name(self) -> bool:
        """A short name in words ("Alpine Co."), not an address or a number ("SUP-4121")."""
        return self.kind == "string" and bool(_NAME.fullmatch(self.value))

    def names_section(self, section: Section) -> bool:
        """True when the section's title is about this field ("Customer facts")."""
        if self.kind != "string":
            return False
        title = set(re.findall(r"\w+", section.title.lower()))
        words = set(re.findall(r"\w+", self.name.lower().replace("_", " ")))
        return bool(words) and words <= title or self.label.lower() in title

    def named_in(self, fact: str) -> bool:
        """True when a fact speaks of this field ("whether the reason ..." and `reason`)."""
        said = content_terms(fact)
        own = content_terms(f"{self.name.replace('_', ' ')} {self.label}")
        return bool(said & own)


@dataclass(frozen=True)
class Finding:
    """One fact of one section: the passages that pass its gate and what they say."""

    section: Section
    fact: str
    query: str
    passages: RetrievedPassages
    confidence: float
    """The gate's probability for the best passing document (0 when none passes)."""
    statements: tuple[str, ...] = ()
    """What the draft says for it, each with its citation marker."""
    repeated: bool = False
    """Its quotes were already given for an earlier fact."""
    quoted: bool = False

    @property
    def on_file(self) -> bool:
        if not self.quoted:
            return bool(self.passages)
        return bool(self.statements) or self.repeated


@dataclass(frozen=True)
class Draft:
    text: str
    citations: tuple[Citation, ...]
    confidence: float
    findings: tuple[Finding, ...]


class SectionDrafter:
    """Builds a draft from `sections` with `retrieve` (a search in the readers' scope)."""

    def __init__(self, retrieve: Retrieve, *, min_confidence: float, kind: str = "") -> None:
        self.retrieve = retrieve
        self.min_confidence = min_confidence
        self.kind = kind
        """What kind of request it drafts for (the workflow's title, "Expense claim")."""

    async def findings(
        self, sections: Sequence[Section], fields: Sequence[RequestField]
    ) -> list[Finding]:
        """Search and gate every fact of every facts section, in the prompt's order."""
        found = []
        for section in sections:
            if section.kind != SectionKind.FACTS:
                continue
            if not section.title and any(f.kind == "text" for f in fields):
                found.extend(await self._asked(section, fields))
                continue
            subjects = [f for f in fields if f.names_section(section)]
            head = f"{section.title}: " if section.title else ""
            for fact in section.facts if section.title else ("",):
                named = subjects or [f for f in fields if f.named_in(fact)]
                if not section.title:  # the whole request, what it asks first
                    named = sorted(fields, key=lambda f: f.kind != "text")
                about = " ".join(f.value for f in named)
                query = " ".join(f"{head}{fact}: {about}".split()).strip(" :")
                passages = await self.retrieve(query)
                kept, confidence = self.relevant(
                    query, passages, section=section, mentions=[f.value for f in subjects]
                )
                found.append(Finding(section, fact, query, kept, confidence))
        return found

    async def _asked(self, section: Section, fields: Sequence[RequestField]) -> list[Finding]:
        """A prompt without sections, for a request that asks something in words: what the
        documents naming the request's subject say to it, then what answers it at all.

        The request is asked as what kind of request it is and what it says ("Expense
        claim: train tickets to the Harbour Logistics site"), searched with its numbers;
        the gate judges the passages on its subject alone: its numbers and the words no
        document the readers may see uses are particulars of this request (a time, a
        client's site), which a policy states as a rule, not word for word."""
        said = " ".join(f.value for f in fields if f.kind == "text")
        question = f"{self.kind}: {said}" if self.kind else said
        figures = " ".join(f.value for f in fields if f.kind == "number")
        found = []
        for subject in (f for f in fields if f.is_name):
            passages = await self.retrieve(f"{question} {subject.value}")
            if (gated := _subject(said, "", passages)) is None:
                continue
            kept, confidence = self.relevant(
                gated, passages, section=section, mentions=[subject.value]
            )
            if kept:
                found.append(Finding(section, "", said, kept, confidence))
        passages = await self.retrieve(f"{question} {figures}".strip())
        gated = _subject(said, self.kind, passages)
        kept, confidence = (
            self.relevant(gated, passages, section=section)
            if gated is not None
            else (passages.keep(()), 0.0)
        )
        found.append(Finding(section, "", said, kept, confidence))
        return found

    def relevant(
        self,
        query: str,
        passages: RetrievedPassages,
        *,
        section: Section,
        mentions: Sequence[str] = (),
    ) -> tuple[RetrievedPassages, float]:
        """The passages that pass the gate for `query`, judged document by document."""
        candidates = [p for p in passages if all(_mentions(p, m) for m in mentions)]
        named = {p.doc_id for p in candidates if _names_document(section, p.title)}
        if named:
            candidates = [p for p in candidates if p.doc_id in named]
        by_doc: dict[str, list[Passage]] = {}
        for passage in candidates:
            by_doc.setdefault(passage.doc_id, []).append(passage)
        evidence, kept, best = passages.evidence, set(), 0.0
        for doc_id, group in by_doc.items():
            own = evidence
            if evidence is not None and evidence.best_similarity:
                own = replace(evidence, best_similarity=max(p.similarity for p in group))
            probability = gate.confidence(
                gate.gate_inputs(query, RetrievedPassages(group, passages.corpus, own)),
                gate.DOCUMENT_WEIGHTS,
            )
            if probability >= self.min_confidence:
                kept.add(doc_id)
                best = max(best, probability)
        return passages.keep(p for p in candidates if p.doc_id in kept), best

    async def draft(
        self,
        *,
        sections: Sequence[Section],
        fields: Sequence[RequestField],
        title: str,
        requester: str,
    ) -> Draft:
        cited: dict[str, tuple[int, Citation]] = {}
        said: set[str] = set()
        numbers = [float(f.value.rstrip("%")) for f in fields if f.kind == "number"]
        findings = [
            self._quote(finding, fields, numbers, cited, said)
            for finding in await self.findings(sections, fields)
        ]
        blocks: list[str] = []
        for number, section in enumerate(sections, start=1):
            if section.kind == SectionKind.REQUEST:
                body = request_line(title, requester, fields)
            elif section.kind == SectionKind.RISKS:
                body = _risks(findings, requester)
            else:
                body = _facts([f for f in findings if f.section is section], section)
            heading = f"*{number}. {section.title}*" if section.title else ""
            blocks.append(f"{heading}\n{body}".strip())
        confidence = sum(f.confidence for f in findings if f.on_file) / max(len(findings), 1)
        citations = tuple(c for _, c in sorted(cited.values(), key=lambda nc: nc[0]))
        return Draft("\n\n".join(blocks), citations, round(confidence, 3), tuple(findings))

    @staticmethod
    def _quote(
        finding: Finding,
        fields: Sequence[RequestField],
        numbers: Sequence[float],
        cited: dict[str, tuple[int, Citation]],
        said: set[str],
    ) -> Finding:
        """The finding with what the draft says for it: the extractive answerer's quotes
        that name the fact (or the row of a table of ranges that holds the request's number),
        numbered in the draft's one list of sources."""
        if not finding.passages:
            return replace(finding, quoted=True)
        # One sentence per fact, or one per detail it lists ("(the 35% floor, no stacking,
        # 30-day validity)"); a prompt without sections gets the answerer's usual three.
        wanted = max(1, len(details(finding.fact))) if finding.section.title else 3
        answer = ExtractiveAnswerer(max_sentences=wanted + 2, max_documents=2).compose(
            question=finding.query, passages=finding.passages, corpus=corpus_of(finding.passages)
        )
        local = list(answer.citations)
        text = answer.text.split("\n\n")[0]
        row = range_row(local, finding.passages, points(numbers))
        if row is not None:
            local, text = [row[0]], f"{row[1]} [1]"
        about = content_terms(
            " ".join([finding.fact, *(f.value for f in fields if f.named_in(finding.fact))])
        )
        statements: list[str] = []
        repeated = False
        for sentence, marker in re.findall(r"(.+?)\s*\[(\d+)\]", text):
            if len(statements) >= wanted:
                break
            if finding.fact and not content_terms(sentence) & about and row is None:
                continue  # a quote that does not speak of the fact
            # A quote reaches past its best sentence to the ones around it, so two quotes
            # may share sentences: each is said once in the draft.
            parts = [part for part in _SENTENCE_BREAK.split(sentence.strip()) if part]
            fresh = [part for part in parts if normalize_quote(part) not in said]
            if not fresh:
                repeated = True
                continue
            said.update(normalize_quote(part) for part in fresh)
            sentence = " ".join(fresh)
            source = local[int(marker) - 1]
            if source.doc_id not in cited:
                passage = next((p for p in finding.passages if p.chunk_id == source.chunk_id), None)
                if passage is not None and quote_in(sentence, passage.text):
                    source = replace(source, quote=sentence.strip())
                cited[source.doc_id] = (len(cited) + 1, source)
            statements.append(f"{sentence.strip()} [{cited[source.doc_id][0]}]")
        return replace(finding, statements=tuple(statements), repeated=repeated, quoted=True)


_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[\"'(A-Z0-9])")
"""Where one sentence of a quote ends and the next begins (a table row's "Term: …" is one
to the sentence splitter, however many sentences its value holds)."""


def _subject(said: str, kind: str, passages: RetrievedPassages) -> str | None:
    """What the gate judges of a request that says `said`: its kind and its words, less
    its numbers and the words no document in the search's scope uses (when the search
    counted them). None when no word of `said` is left: nothing on file is about it."""
    counted = passages.corpus.frequencies if passages.corpus is not None else {}

    def unknown(word: str) -> bool:
        terms = content_terms(word)
        return bool(terms) and all(counted.get(t, 1) == 0 for t in terms)

    kept = [w for w in said.split() if not re.search(r"\d", w) and not unknown(w)]
    if not content_terms(" ".join(kept)):
        return None
    return f"{kind}: {' '.join(kept)}" if kind else " ".join(kept)


def _facts(findings: Sequence[Finding], section: Section) -> str:
    if not any(f.on_file for f in findings):
        return NO_POLICY if section.is_policy else f"{_capital(NOT_ON_FILE)}."
    lines = []
    for finding in findings:
        if finding.statements:
            lines.append(" ".join(finding.statements))
        elif not finding.on_file and finding.fact and finding.fact != section.title:
            lines.append(f"{_capital(finding.fact)}: {NOT_ON_FILE}.")
    if len(lines) == 1 or not section.title:
        return "\n".join(lines)
    return "\n".join(f"• {line}" for line in lines)


def request_line(title: str, requester: str, fields: Sequence[RequestField]) -> str:
    """The request in one line, from its fields: no document is needed for it."""
    given = "; ".join(f"{f.label}: {f.value}" for f in fields if f.value).rstrip(".")
    return f"{title} from {requester}. {given}." if given else f"{title} from {requester}."


def _risks(findings: Sequence[Finding], requester: str) -> str:
    by_section: dict[str, list[Finding]] = {}
    for finding in findings:
        by_section.setdefault(finding.section.title, []).append(finding)
    bullets = []
    for title, group in by_section.items():
        missing = [f for f in group if not f.on_file]
        if not missing:
            continue
        if len(missing) == len(group) and group[0].section.is_policy:
            bullets.append(f"{NO_POLICY} Which policy applies, and who has checked it?")
            continue
        facts = "; ".join(f.fact for f in missing if f.fact != title) or title.lower()
        bullets.append(f"{title}, {NOT_ON_FILE}: {facts}. Ask {requester} before deciding.")
    if not bullets:
        return "Nothing is missing: every fact asked for above is on file."
    if len(bullets) > MAX_RISKS:
        bullets = [*bullets[: MAX_RISKS - 1], "Other facts above are not on file either."]
    return "\n".join(f"• {b}" for b in bullets)


def _mentions(passage: Passage, value: str) -> bool:
    wanted = " ".join(value.casefold().split())
    return wanted in " ".join(f"{passage.title} {passage.text}".casefold().split())


def _names_document(section: Section, title: str) -> bool:
    title = " ".join(title.casefold().split())
    text = " ".join(f"{section.title} {section.instructions}".casefold().split())
    return len(title) >= 8 and title in text


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
