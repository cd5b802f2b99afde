"""Plain-text helpers shared by the extractive answerer and the knowledge index.

Everything here is deterministic; stemming is Snowball's English stemmer (PyStemmer):

- `tokenize` / `content_terms`: lower-cased words, stopwords dropped, stemmed, and
  hyphenated or split compounds indexed both ways ("carry-over", "carry over" and
  "carryover" all yield the term "carryover").
- `question_words`: a question's content terms with the words they were asked in and
  whether they are written like a name; `QUESTION_WORDS` and `WEAK_TERMS` are the words
  that only frame a question ("how far ahead", "what is the policy on").
- `split_sentences`: sentence and list-item spans of a (markdown or plain) text, as exact
  offsets into it, so a quote is always a substring of the source.
- `TermWeights`: idf weights of a question's terms (over the corpus when its statistics
  are given, else over the passages), and the weighted share of the question a set of
  terms covers.
- `numbers`: the figures a sentence states, for conflict detection.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

_STOPWORD_TEXT = """
    a about above after again against all also am an and another any are aren't as at be because
    been before being below between both but by can can't cannot could couldn't did didn't
    do does doesn't doing don't down during each either else etc ever every few for from
    further get gets getting got had hadn't has hasn't have haven't having he her here hers
    herself him himself his how however i i'd i'll i'm i've if in into is isn't it it's its
    itself just let's like many may me might more most much must mustn't my myself need
    needs no nor not now of off often on once only or other ought our ours ourselves out
    over own per please same shall shan't she should shouldn't so some such than that that's
    the their theirs them themselves then there there's these they they'd they'll they're
    they've this those through thus to too under until up upon us very via was wasn't we
    we'd we'll we're we've were weren't what what's when when's where where's whether which
    while who who's whom whose why why's will with within without won't would wouldn't yes
    yet you you'd you'll you're you've your yours yourself yourselves anyone anybody
    anything someone somebody something thing things way ways hi hello hey thanks thank tell
    know explain want wondering question questions answer currently actually really still let
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
"""Function words and conversational filler that carry no topic."""

WEAK_TERMS = frozenset(
    {
        "policy",
        "policies",
        "rule",
        "process",
        "procedure",
        "guideline",
        "information",
        "info",
        "detail",
        "option",
        "limit",
        "amount",
        "number",
        "long",
        "allow",
        "allowed",
        "company",
    }
)
"""Words that frame a question rather than name its topic ("what is the policy on ...").

They are matched like any other term but weigh half, so their absence from a source does
not sink an otherwise well-supported answer. Compared after stemming (see `WEAK_STEMS`).
"""

_QUESTION_WORD_TEXT = """
    far ahead advance beforehand long longest soon soonest early quickly quick fast often
    frequently usually typically normally generally exactly roughly approximately
    need needed required require allowed allow permitted permit able possible supposed
    okay ok happen happens happened get go find ask someone anyone whom kind type sort
    take use used using best right correct proper way steps step keep pick pickup obtain
    deadline cutoff due latest earliest maximum minimum max min total exact
    yesterday today tomorrow tonight now
    day days week weeks month months year years hour hours minute minutes
"""
QUESTION_WORDS = frozenset(_QUESTION_WORD_TEXT.split())
"""Words that only say how a question is asked ("how far ahead", "am I allowed to", "what
is the deadline") and units that say what kind of figure it wants ("how many days").

A source answers "How far ahead must a vessel request a berth?" without using "far" or
"ahead", so these words never count as missing; when a source does use one, it counts at
half weight like a framing word.
"""

_PARTICLES = frozenset({"off", "over", "up", "out", "in", "down", "back"})
_IRREGULAR_TEXT = """
    kept:keep paid:pay sent:send spent:spend lost:lose held:hold made:make taken:take
    took:take given:give gave:give chosen:choose chose:choose bought:buy sold:sell
    built:build met:meet ran:run began:begin begun:begin written:write wrote:write told:tell
    found:find brought:bring caught:catch stolen:steal stole:steal broken:break broke:break
    forgotten:forget forgot:forget went:go gone:go led:lead driven:drive drove:drive
    hidden:hide worn:wear wore:wear won:win felt:feel daily:day children:child people:person
    men:man women:woman
"""
_IRREGULAR = dict(pair.split(":") for pair in _IRREGULAR_TEXT.split())
"""Irregular forms mapped to the form their regular relatives stem to."""
_stem = lru_cache(maxsize=65536)(Stemmer.Stemmer("english").stemWord)
_QUESTION_PARTICLES = frozenset({"off", "over", "up", "out"})
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_HYPHENATED = re.compile(r"[^\W_]+(?:[-\u2010\u2011][^\W_]+)+")


def fold(text: str) -> str:
    """Unicode-normalise and case-fold, with typographic apostrophes made plain."""
    return unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()


def tokenize(text: str) -> list[str]:
    """Every word of `text`, folded; a possessive "'s" is dropped, contractions are kept."""
    words = []
    for raw in _WORD.findall(fold(text)):
        word = raw[:-2] if raw.endswith("'s") else raw
        if word:
            words.append(word)
    return words


def stem(word: str) -> str:
    """The Snowball (Porter 2) English stem of a folded word; irregular forms are first
    mapped to their regular relatives ("kept" -> "keep", "paid" -> "pay").

    The same stemmer indexes the knowledge base (`app.knowledge.index`), so a question and
    a passage always meet on the same terms, whatever the database.
    """
    return _stem(_IRREGULAR.get(word, word))


WEAK_STEMS = frozenset(stem(w) for w in WEAK_TERMS)
FRAMING_STEMS = WEAK_STEMS | frozenset(stem(w) for w in QUESTION_WORDS)
"""Stems of framing and question words: never missing, half weight when a source has them."""


def term_sequence(text: str) -> list[str]:
    """The content terms of `text` in order (stopwords dropped, stemmed)."""
    return [stem(w) for w in tokenize(text) if w not in STOPWORDS]


def index_terms(text: str) -> list[str]:
    """The terms keyword search indexes for `text`, in order, repeats kept (they count).

    The stems of its content words, plus the joined forms a question may ask for: a
    hyphenated compound ("carry-over" -> "carryover") and a verb with its particle ("time
    off" -> "timeoff"), as `question_words` forms them.
    """
    words = tokenize(text)
    terms = [stem(w) for w in words if w not in STOPWORDS]
    for left, right in zip(words, words[1:], strict=False):
        if right in _QUESTION_PARTICLES and left.isalpha() and left not in STOPWORDS:
            terms.append(stem(left + right))
    for compound in _HYPHENATED.findall(fold(text)):
        terms.append(stem("".join(re.split(r"[-\u2010\u2011]", compound))))
    return terms


def content_terms(text: str) -> set[str]:
    """The content terms of `text`, compounds included both joined and split.

    "carry-over" and "carry over" also yield "carryover"; "full-time" also yields
    "fulltime", so a question and a source that spell a compound differently still meet.
    """
    words = tokenize(text)
    terms = {stem(w) for w in words if w not in STOPWORDS}
    for left, right in zip(words, words[1:], strict=False):
        joinable = right not in STOPWORDS or right in _PARTICLES
        if left.isalpha() and right.isalpha() and left not in STOPWORDS and joinable:
            terms.add(stem(left + right))
    for compound in _HYPHENATED.findall(fold(text)):
        parts = re.split(r"[-\u2010\u2011]", compound)
        terms.add(stem("".join(parts)))
    return terms


@dataclass(frozen=True)
class QuestionWord:
    """A content term of a question, with the words it was asked in."""

    term: str
    """Stemmed, as `content_terms` would index it: "locked out" -> "lockedout"."""
    surface: str
    """Folded words as asked, compounds spaced: "sign-in" -> "sign in"."""
    name_like: bool = False
    """Written like a name: capitalised inside the question ("Heron"), several capitals
    ("OneDrive", "GPU"), or letters with digits ("SEV1")."""


_QUESTION_TOKEN = re.compile(r"[^\W_]+(?:(?:[-\u2010\u2011]|')[^\W_]+)*")


def _name_like(raw: str, first: bool) -> bool:
    letters = [c for c in raw if c.isalpha()]
    if not letters:
        return False
    if any(c.isdigit() for c in raw):
        return True
    if sum(c.isupper() for c in letters) >= 2:
        return True
    return letters[0].isupper() and not first and raw[0] == letters[0]


def question_words(question: str) -> list[QuestionWord]:
    """The content terms of a question in order, with how each was written.

    Hyphenated compounds are kept joined ("full-time" -> "fulltime") so that their parts
    do not count twice (sources index both forms, see `content_terms`), and a phrasal
    particle joins its verb ("time off" -> "timeoff").
    """
    text = unicodedata.normalize("NFKC", question).translate(_APOSTROPHES)
    words: list[tuple[str, str, bool]] = []  # (folded word, surface, name-like)
    for index, match in enumerate(_QUESTION_TOKEN.finditer(text)):
        raw = match.group()
        if raw.casefold().endswith("'s"):
            raw = raw[:-2]
        parts = re.split(r"[-\u2010\u2011]", raw)
        surface = " ".join(parts).casefold()
        words.append(("".join(parts).casefold(), surface, _name_like(raw, index == 0)))
    found: list[QuestionWord] = []
    for index, (word, surface, name_like) in enumerate(words):
        if word in STOPWORDS:
            previous = words[index - 1][0] if index else None
            if word in _QUESTION_PARTICLES and previous and previous not in STOPWORDS and found:
                # "time off", "carry over": the phrase is the topic, not its head word.
                last = found[-1]
                found[-1] = QuestionWord(
                    stem(previous + word), f"{last.surface} {word}", last.name_like
                )
            continue
        found.append(QuestionWord(stem(word), surface, name_like))
    return found


def question_sequence(question: str) -> list[str]:
    """The content terms of a question in order (see `question_words`)."""
    return [word.term for word in question_words(question)]


def question_terms(question: str) -> list[str]:
    """The distinct content terms of a question, in the order they are asked."""
    return list(dict.fromkeys(question_sequence(question)))


def bigrams(terms: Sequence[str]) -> set[tuple[str, str]]:
    return set(zip(terms, terms[1:], strict=False))


# --- sentences -----------------------------------------------------------------------------

_ABBREVIATIONS = frozenset(
    [
        "e.g",
        "i.e",
        "etc",
        "vs",
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "inc",
        "ltd",
        "co",
        "corp",
        "jr",
        "sr",
        "st",
        "no",
        "nos",
        "approx",
        "incl",
        "dept",
        "est",
        "fig",
        "min",
        "max",
        "mt",
        "ft",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    ]
)
_BULLET = re.compile(r"[ \t]*(?:[-*+\u2022][ \t]+|\d{1,3}[.)][ \t]+|>[ \t]?)")
_HEADING = re.compile(r"[ \t]*#{1,6}[ \t]+")
_TABLE_ROW = re.compile(r"[ \t]*\|")
_RENDERED_ROW = re.compile(r"[ \t]*[^\s:;][^:;]{0,60}: [^;]+(?:; [^:;]{1,60}: [^;]*)+$")
"""A table row the knowledge loader already spelled out: "Region: EMEA; Allowance: EUR 60"."""
_TABLE_RULE = re.compile(r"[ \t]*\|?[ \t]*:?-{3,}")
_SENTENCE_END = re.compile(r"[.!?][\"')\]\u201d\u2019*_]*(?=\s+|$)")


@dataclass(frozen=True)
class Sentence:
    """One sentence, list item, heading or table row: `source[start:end] == text`."""

    text: str
    start: int
    end: int
    kind: str = "sentence"  # sentence | heading | row | header (a table's first row)

    @property
    def is_heading(self) -> bool:
        return self.kind == "heading"

    @property
    def cells(self) -> list[str]:
        """The cells of a table row (empty for anything else)."""
        if self.kind not in ("row", "header") or not self.text.lstrip().startswith("|"):
            return []
        return [cell.strip() for cell in self.text.strip().strip("|").split("|")]


def _lines(text: str) -> Iterable[tuple[int, str]]:
    offset = 0
    for line in text.splitlines(keepends=True):
        yield offset, line.rstrip("\r\n")
        offset += len(line)


def _looks_like_title(line: str, following: str | None) -> bool:
    """A short unpunctuated line followed by a capitalised one, as in plain-text files."""
    stripped = line.strip()
    if not stripped or following is None or not following.strip():
        return False
    if stripped[-1] in ".!?:;,)" or len(stripped) > 60 or len(stripped.split()) > 8:
        return False
    nxt = following.strip()
    return nxt[0].isupper() or nxt[0].isdigit()


def _units(text: str) -> list[tuple[int, int, str]]:
    """Paragraph-level units as (start, end, kind); wrapped lines are joined."""
    lines = list(_lines(text))
    units: list[tuple[int, int, str]] = []
    current: list[int] | None = None  # [start, end]
    current_kind = "sentence"

    def close() -> None:
        nonlocal current
        if current is not None:
            units.append((current[0], current[1], current_kind))
        current = None

    for index, (offset, line) in enumerate(lines):
        if not line.strip():
            close()
            continue
        following = lines[index + 1][1] if index + 1 < len(lines) else None
        if _TABLE_RULE.match(line) and set(line.strip()) <= set("|-: "):
            close()
            if units and units[-1][2] == "row":
                units[-1] = (units[-1][0], units[-1][1], "header")
            continue
        heading = _HEADING.match(line)
        if heading or _TABLE_ROW.match(line) or _RENDERED_ROW.match(line):
            close()
            start = offset + (heading.end() if heading else 0)
            units.append((start, offset + len(line), "heading" if heading else "row"))
            continue
        bullet = _BULLET.match(line)
        starts_new = bullet is not None or current is None or current_kind != "sentence"
        if starts_new:
            close()
            current = [offset + (bullet.end() if bullet else 0), offset + len(line)]
            current_kind = "sentence"
        else:
            assert current is not None
            current[1] = offset + len(line)
        if bullet is None and _looks_like_title(line, following):
            current_kind = "heading"
            close()
            current_kind = "sentence"
    close()
    return units


def _split_unit(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    cursor = start
    for match in _SENTENCE_END.finditer(text, start, end):
        stop = match.end()
        before = text[cursor : match.start()].split()
        last_word = before[-1].lower().rstrip(".") if before else ""
        last_word = last_word.lstrip("(\"'*_")
        if last_word in _ABBREVIATIONS or (len(last_word) == 1 and last_word.isalpha()):
            continue
        rest = text[stop:end].lstrip()
        if rest and not (rest[0].isupper() or rest[0].isdigit() or rest[0] in "\"'(*_[\u201c"):
            continue
        spans.append((cursor, stop))
        cursor = stop
    if cursor < end:
        spans.append((cursor, end))
    return spans


def split_sentences(text: str) -> list[Sentence]:
    """Sentences, list items, headings and table rows of `text`, in order.

    Each `Sentence` is an exact slice of `text` with surrounding whitespace and list or
    heading markers trimmed, so it can be quoted verbatim.
    """
    sentences = []
    for unit_start, unit_end, kind in _units(text):
        pieces = (
            [(unit_start, unit_end)]
            if kind != "sentence"
            else _split_unit(text, unit_start, unit_end)
        )
        for start, end in pieces:
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if start < end:
                sentences.append(Sentence(text[start:end], start, end, kind))
    return sentences


# --- weighting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TermWeights:
    """How much each question term matters.

    `weight(t) = idf(t) x (0.5 for a framing word or a bare number) x (2 if missing)`,
    with `idf(t) = 1 + ln((N + 1) / (df(t) + 0.5))`. N and df come from the corpus the
    audience may see when `corpus` gives them (see `app.answering.corpus`), otherwise from
    the passages at hand. A content term that no passage mentions is `missing`: the
    clearest sign the question is about something the sources do not cover, so it counts
    double. Framing and question words (`FRAMING_STEMS`) and bare numbers are never missing:
    a framing word no passage uses is left out altogether.
    """

    weights: dict[str, float]
    missing: frozenset[str]

    @classmethod
    def for_question(
        cls,
        terms: Sequence[str],
        documents: Sequence[set[str]],
        *,
        framing: Collection[str] = WEAK_STEMS,
        corpus_idf: Callable[[str], float | None] | None = None,
        missing_weight: float = 2.0,
    ) -> TermWeights:
        n = len(documents)
        weights = {}
        missing = set()
        for term in terms:
            df = sum(1 for doc in documents if term in doc)
            weight = corpus_idf(term) if corpus_idf is not None else None
            if weight is None:
                weight = 1.0 + math.log((n + 1) / (df + 0.5))
            if term.isdigit():
                # "a 20% discount", "after 5 years": a parameter of the question, which
                # the answer often states as a range; it weighs half and is never missing.
                weights[term] = 0.5 * weight
                continue
            if term in framing:
                if df:
                    weights[term] = 0.5 * weight
                continue
            if df == 0:
                weight *= missing_weight
                missing.add(term)
            weights[term] = weight
        return cls(weights, frozenset(missing))

    @property
    def total(self) -> float:
        return sum(self.weights.values())

    def of(self, terms: Iterable[str]) -> float:
        return sum(self.weights.get(t, 0.0) for t in set(terms))

    def coverage(
        self, full: Iterable[str], partial: Iterable[str] = (), *, partial_credit: float = 0.5
    ) -> float:
        """Weighted share of the question found; `partial` terms count `partial_credit`."""
        total = self.total
        if total <= 0:
            return 0.0
        full_set = set(full) & self.weights.keys()
        partial_set = (set(partial) & self.weights.keys()) - full_set
        found = self.of(full_set) + partial_credit * self.of(partial_set)
        return min(1.0, found / total)


# --- figures ---------------------------------------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.,:])\d+(?:[.,]\d+)*(?![\w:])")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")


_FIGURE_QUESTION = re.compile(
    r"\b(how (many|much|long|often|soon|quickly|far|old)|when|what (date|day|time|year)|"
    r"which (date|day)|deadline|by what|until when)\b"
)


def asks_for_figure(question: str) -> bool:
    """True when the question wants a number, a date or a duration ("how many", "when")."""
    return bool(_FIGURE_QUESTION.search(fold(question)))


def numbers(text: str) -> frozenset[float]:
    """The figures `text` states, years (1900-2100) left out.

    "25 days", "2.08", "1,500" -> {25.0, 2.08, 1500.0}.
    """
    found = set()
    for raw in _NUMBER.findall(text):
        raw = raw.rstrip(".,")
        if _THOUSANDS.fullmatch(raw):
            raw = raw.replace(",", "")
        elif "," in raw:
            raw = raw.replace(",", ".", 1) if raw.count(",") == 1 else raw.replace(",", "")
        try:
            value = float(raw)
        except ValueError:
            continue
        if len(raw) == 4 and raw.isdigit() and 1900 <= value <= 2100:
            continue
        found.add(value)
    return frozenset(found)


def quantities(text: str) -> dict[str, frozenset[float]]:
    """The figures of `text` by what they count: "25 days of PTO" -> {"day": {25}, "pto": {25}}.

    A figure counts the (at most two) content words right after it, so two sentences
    disagree only when they give different values for the same thing.
    """
    found: dict[str, set[float]] = {}
    for match in _NUMBER.finditer(text):
        value = numbers(match.group())
        if not value:
            continue
        following = [
            w for w in tokenize(text[match.end() : match.end() + 60]) if w not in STOPWORDS
        ]
        for word in following[:2]:
            if word.isalpha():
                found.setdefault(stem(word), set()).update(value)
    return {unit: frozenset(values) for unit, values in found.items()}
