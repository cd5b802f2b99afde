"""Words: the terms of a text and of a question, as the index and the answerers see them.

Everything here is deterministic; stemming is Snowball's English stemmer (PyStemmer):

- `tokenize` / `content_terms`: lower-cased words, stopwords dropped, stemmed, and
  hyphenated or split compounds indexed both ways ("carry-over", "carry over" and
  "carryover" all yield the term "carryover").
- `index_terms`: the terms keyword search indexes for a text, in order.
- `question_words`: a question's content terms with the words they were asked in and
  whether they are written like a name; `QUESTION_WORDS` and `WEAK_TERMS` are the words
  that only frame a question ("how far ahead", "what is the policy on").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
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
    it'll he'd he'll he's she'd she'll she's that'll there'll what'll who'll who'd how's
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
    yesterday today tomorrow tonight now mean meant meaning instead rather sorry
    day days week weeks month months year years hour hours minute minutes
"""
QUESTION_WORDS = frozenset(_QUESTION_WORD_TEXT.split())
"""Words that only say how a question is asked ("how far ahead", "am I allowed to", "what
is the deadline", "no, I meant the Berlin office") and units that say what kind of figure
it wants ("how many days").

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
_NUMBER_WORD_TEXT = """
    two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen twenty
"""
_NUMBER_WORDS = {word: str(value) for value, word in enumerate(_NUMBER_WORD_TEXT.split(), 2)}
_NUMBER_WORDS.update({"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "ninety": "90"})
_IRREGULAR = dict(pair.split(":") for pair in _IRREGULAR_TEXT.split()) | _NUMBER_WORDS
"""Irregular forms mapped to the form their regular relatives stem to, and number words
from two to twenty (and round tens) to their figures: "five years" meets "Year 5"."""
_stem: Callable[[str], str] = lru_cache(maxsize=65536)(Stemmer.Stemmer("english").stemWord)
_QUESTION_PARTICLES = frozenset({"off", "over", "up", "out"})
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_FIGURE = r"\d+(?:[.,]\d+)+(?![^\W_])"
_WORD = re.compile(_FIGURE + r"|[^\W_]+(?:'[^\W_]+)*")
"""A word, or a figure with its decimals or thousands ("2.7", "1,500", "10.0.0.1") kept whole:
apart, "Python 2.7" would meet the "2" of "6.2" and the "7" of "7.0"."""
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")
_HYPHENATED = re.compile(r"(?<![^\W_])[^\W_]++(?:[-\u2010\u2011][^\W_]++)+")
"""A hyphenated compound. Tried only where a word starts, each part taken whole: otherwise
a long run of letters without a hyphen is tried again from each of its letters (quadratic:
minutes for one 20,000-letter "word" in a data dump)."""


def fold(text: str) -> str:
    """Unicode-normalise and case-fold, with typographic apostrophes made plain."""
    return unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()


def tokenize(text: str) -> list[str]:
    """Every word of `text`, folded; a possessive "'s" is dropped, contractions are kept, and
    a figure is one word with its decimals ("2.7") or thousands ("1,500" as "1500")."""
    words = []
    for raw in _WORD.findall(fold(text)):
        word = raw[:-2] if raw.endswith("'s") else raw
        if _THOUSANDS.fullmatch(word):
            word = word.replace(",", "")  # "1,500" meets "1500"
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
    The same passages come back question after question, so the terms of recent texts
    are kept (a fresh set is returned each time).
    """
    return set(_content_terms(text))


def content_term_set(text: str) -> frozenset[str]:
    """`content_terms`, kept and shared: not to be changed by the caller."""
    return _content_terms(text)


@lru_cache(maxsize=32768)
def _content_terms(text: str) -> frozenset[str]:
    words = tokenize(text)
    terms = {stem(w) for w in words if w not in STOPWORDS}
    for left, right in zip(words, words[1:], strict=False):
        joinable = right not in STOPWORDS or right in _PARTICLES
        if left.isalpha() and right.isalpha() and left not in STOPWORDS and joinable:
            terms.add(stem(left + right))
    for compound in _HYPHENATED.findall(fold(text)):
        parts = re.split(r"[-\u2010\u2011]", compound)
        terms.add(stem("".join(parts)))
    return frozenset(terms)


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


_QUESTION_TOKEN = re.compile(_FIGURE + r"|[^\W_]+(?:(?:[-\u2010\u2011]|')[^\W_]+)*")


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
    particle joins its verb ("time off" -> "timeoff"). A question is read many times while
    it is answered, so the words of recent questions are kept (a fresh list each time).
    """
    return list(_question_words(question))


@lru_cache(maxsize=4096)
def _question_words(question: str) -> tuple[QuestionWord, ...]:
    text = unicodedata.normalize("NFKC", question).translate(_APOSTROPHES)
    words: list[tuple[str, str, bool]] = []  # (folded word, surface, name-like)
    for index, match in enumerate(_QUESTION_TOKEN.finditer(text)):
        raw = match.group()
        if raw.casefold().endswith("'s"):
            raw = raw[:-2]
        if _THOUSANDS.fullmatch(raw):
            raw = raw.replace(",", "")
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
    return tuple(found)


def question_sequence(question: str) -> list[str]:
    """The content terms of a question in order (see `question_words`)."""
    return [word.term for word in question_words(question)]


def question_terms(question: str) -> list[str]:
    """The distinct content terms of a question, in the order they are asked."""
    return list(dict.fromkeys(question_sequence(question)))


def bigrams(terms: Sequence[str]) -> set[tuple[str, str]]:
    return set(zip(terms, terms[1:], strict=False))
