"""What a question asks: its parts, and the kind of answer each part wants.

- `question_parts`: "When is the desk open on Saturdays, and what time does the canteen
  close?" is two questions; each is answered (or found unanswerable) on its own.
- `answer_kind`: "how long", "when" want a time; "how often" a frequency; "how much",
  "how many" an amount; "what is the fee/salary/rate" money; "who" a person or team;
  "where" a place; "what number do I call", "how do I contact" a way to get in touch.
  `states_kind` tells
  whether a sentence gives that kind of answer at all ("Every library floor has a printer"
  does not answer "Who replaces the toner?").

Deterministic and dependency-free, like `app.text`.
"""

from __future__ import annotations

import re

from app.text.numbers import numbers
from app.text.words import FRAMING_STEMS, STOPWORDS, fold, question_words, tokenize

_PART_BREAK = re.compile(
    r"\?\s+|;\s+|(?:,\s*|\s+)(?:and|or|also|plus|but)\s+"
    r"(?=(?:what|when|where|who|whom|which|how|why|is|are|do|does|did|can|could|should|"
    r"will|would|may|must|has|have)\b)",
    re.IGNORECASE,
)


_EMOJI_CODE = re.compile(r"(?<![\w:]):(?=[a-z0-9_+'-]*[a-z+])[a-z0-9_+'-]+:(?![\w:])")
"""Slack's emoji as typed (":palm_tree:", ":+1:"): no part of what is asked."""


def question_parts(question: str) -> list[str]:
    """The separate questions inside `question`, each with at least one content term.

    A question is split at a question mark followed by more text, at a semicolon, and at
    "and"/"or"/"but" followed by a question word ("..., and what time ..."). "PTO and sick
    days" stays one part, and so does a piece with no topic of its own ("and how long?").
    An emoji (":palm_tree:") is no part.
    """
    parts: list[str] = []
    question = _EMOJI_CODE.sub(" ", question)
    for piece in (p.strip(" ,;?") for p in _PART_BREAK.split(question.strip())):
        terms = {w.term for w in question_words(piece)}
        if parts and not terms - FRAMING_STEMS:
            # "..., and how long does it take?" asks about the previous part's topic.
            parts[-1] = f"{parts[-1]}, {piece}"
        elif terms:
            parts.append(piece)
    return parts or [question.strip()]


# --- the kind of answer a question wants -------------------------------------------------

_KINDS = (
    ("frequency", r"\bhow (often|frequently)\b"),
    (
        "time",
        r"\bhow (long|soon|quickly|fast|far|early|late)\b|\bwhen\b|\bby when\b|\buntil when\b|"
        r"\bwhat (date|day|days|time|times|year|month|hours)\b|\bwhich (date|day|days|month)\b|"
        r"\bdeadline\b|\bcut ?-?off\b",
    ),
    ("amount", r"\bhow (many|much|big|large|old)\b|\bwhat (percentage|percent|price|fee)\b"),
    ("person", r"\bwho\b|\bwhom\b|\bwhich (person|people|team|department|manager)\b"),
    ("place", r"\bwhere\b"),
    (
        "contact",
        r"\b(what|which) (phone |telephone )?number (do|should|can|could|would) (i|we|you|they) "
        r"(call|ring|dial|text)\b|\b(what|which) (email|e-mail)\b|\b(phone|telephone) number\b|"
        r"\bemail address\b|\bcontact (details|info)|"
        r"\bhow (do|can|should|would) (i|we|you|they) (contact|email|e-mail|phone)\b",
    ),
)

_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
    r"forty|fifty|sixty|ninety|hundred|thousand|million|once|twice|half|dozen|a few"
)
_FIGURE = re.compile(rf"\d|\b({_NUMBER_WORDS})\b")
_CALENDAR = re.compile(
    r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekday|weekend|"
    r"january|february|march|april|may|june|july|august|september|october|november|"
    r"december|immediately|today|tomorrow|noon|midnight|same day|next day|"
    r"next working day|next business day|annually|yearly|monthly|weekly|daily|nightly|"
    r"quarterly)\b"
)
_FREQUENCY = re.compile(
    r"\b(every|each|per|once|twice|annually|yearly|monthly|weekly|daily|nightly|"
    r"quarterly|a (year|month|week|day))\b"
)
_AMOUNT = re.compile(r"\b(free|no charge|unlimited|none|nothing)\b")
_MONEY = re.compile(
    r"[$£€¥%]|\b(usd|gbp|eur|aud|cad|chf|pounds?|euros?|dollars?|pence|cents?|percent|"
    r"free|no charge)\b|\d+p\b"
)
_ROLES = re.compile(
    r"\b(manager|supervisor|partner|lead|leader|team|desk|officer|counsel|head|director|"
    r"owner|sponsor|administrator|committee|board|investigator|coordinator|controller|"
    r"vp|ceo|cfo|cto|chief|president|clerk|secretary|assistant|specialist|analyst|"
    r"engineer|staff|department|hr|finance|legal|support|helpdesk|employee|"
    r"agent|representative|executive|approver|reviewer)s?\b"
)
_NAME_PAIR = re.compile(r"(?<!^)(?<![.!?:]\s)\b[A-Z][\w'&-]+ (?:of |and |& )?[A-Z][\w'&-]+")
_LEADING_PAIR = re.compile(r"^[A-Z][\w'&-]+ [A-Z][\w'&-]+")
"""Two capitalised words opening a sentence ("Pradyun Gedam is …"), unless the first is a
word any sentence may open with ("The Board …")."""
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_PLACES = re.compile(
    r"\b(room|floor|building|office|desk|library|gate|site|campus|basement|street|road|"
    r"portal|website|page|reception|centre|center|hall|lab|wing|level|location|address|"
    r"online|strongroom|warehouse|store|branch|drive|folder|system)s?\b|https?://|"
    r"\b\w+\.(example|com|org|net|edu|io)\b"
)
_PLACE_NAME = re.compile(r"\b(in|at|on|from|to|inside)\s+(the\s+)?[A-Z][\w.-]+")
_CONTACT = re.compile(
    r"\(?\d{2,4}\)?[ .-]?\d{3,4}[ .-]?\d{3,4}\b|[\w.+-]+@[\w-]+\.[\w.]+|https?://|(?:^|\s)#[a-z0-9][\w-]+|"
    r"(?:^|\s)@[a-z][\w.-]+|\b(call|phone|email|e-mail|write to|slack|ext\.?|extension)\b",
    re.IGNORECASE,
)
"""A way to get in touch: a phone number, an email or web address, a Slack channel or
handle, or a sentence that says to call, write or message."""


_PRICED = re.compile(
    r"\b(what|which)\b.*\b(salary|salaries|price|prices|cost|costs|fee|fees|rate|rates|"
    r"charge|charges|budget|allowance|quota|percentage|discount|bonus|pay)\b"
)


def answer_kind(question: str) -> str | None:
    """The kind of answer wanted: time, frequency, amount, person, place, or None.

    The first question word decides ("how long", "who", "where"); failing that,
    "what"/"which" asking about a price, fee, rate, salary or budget wants money.
    """
    folded = fold(question)
    found = [(m.start(), kind) for kind, pattern in _KINDS if (m := re.search(pattern, folded))]
    if found:
        return min(found)[1]
    if _PRICED.search(folded):
        return "money"
    return None


def states_kind(sentence: str, kind: str | None, asked: str = "") -> bool:
    """Whether `sentence` gives an answer of `kind` at all (always true for no kind). A
    person or place the question `asked` names itself is not an answer to it: "The release
    manager may, at their discretion, …" names no one for "Who is the release manager?"."""
    if kind is None:
        return True
    folded = fold(sentence)
    if kind == "time":
        return bool(numbers(sentence) or _FIGURE.search(folded) or _CALENDAR.search(folded))
    if kind == "frequency":
        return bool(_FREQUENCY.search(folded))
    if kind == "amount":
        return bool(numbers(sentence) or _FIGURE.search(folded) or _AMOUNT.search(folded))
    if kind == "money":
        return bool(_MONEY.search(folded))
    named = _named_words(asked)
    if kind == "person":
        return (
            _other_than(_ROLES, folded, named)
            or any(
                not set(tokenize(pair.group())) <= named
                for pair in [*_NAME_PAIR.finditer(sentence), *_LEADING_PAIR.finditer(sentence)]
                if fold(pair.group().split()[0]) not in STOPWORDS
            )
            or bool(_EMAIL.search(sentence))
        )
    if kind == "place":
        return _other_than(_PLACES, folded, named) or bool(_PLACE_NAME.search(sentence))
    if kind == "contact":
        return bool(_CONTACT.search(sentence))
    return True


def _named_words(asked: str) -> frozenset[str]:
    words = tokenize(asked)
    return frozenset(words) | frozenset(w[:-1] for w in words if w.endswith("s"))


def _other_than(pattern: re.Pattern[str], folded: str, named: frozenset[str]) -> bool:
    """Whether `pattern` finds something in `folded` that is not a word of the question."""
    return any(not m.group(1) or m.group(1) not in named for m in pattern.finditer(folded))
