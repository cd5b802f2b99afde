"""Whether a message in a thread Trellis answers in is a question for Trellis.

Every reply in an answer thread used to be answered as a follow-up, so "Thanks, that's
what I needed!" got "I couldn't find a well-supported answer…" and was passed on to the
topic's owners as an unanswered question, and two colleagues talking under an answer
("<@U2> can you take this one?", "I'll check with finance") were interrupted by it.

- `thanks_or_agreement`: a reply that only thanks or agrees ("thanks!", "ok, got it",
  "perfect, that helps 🙏", ":+1:") is never a question, in a channel or a direct message.
  It must hold a word or emoji of thanks or agreement, and not open as a question does
  ("is that ok", "what is it for" are questions).
- `asks_trellis`: in a channel's thread, a reply is a follow-up for Trellis unless it is
  thanks, addressed to someone else (it opens with a person's mention, or asks "anyone" or
  "someone") or a remark: with no question mark, it must open as a question or a request
  does ("what about contractors", "and for part-timers", "tell me more", "does that
  include weekends"); a modal opening with no subject after it is a remark ("should be
  fine", "will do"). From someone who asked Trellis in the thread, a correction is a
  follow-up too ("No, I meant EMEA", "not the US one, the Berlin office instead"): it
  says what they meant, or that they meant something instead. Quoted lines (`> …`) and
  fillers ("hmm", "oh", "quick q") are skipped. In a direct message with Trellis
  everything but thanks is for Trellis, which `handlers/events.py` decides without this.
- `points_above`: a mention whose words only point at what was said ("@Trellis can you
  answer this?", "any idea?", "thoughts?", or the mention alone) asks about the message
  above it (handlers/above.py).

Deterministic and dependency-free, like `app.text`.
"""

from __future__ import annotations

import re

_PERSON = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_QUOTED = re.compile(r"^\s*(?:&gt;|>).*$", re.MULTILINE)
_LINK = re.compile(r"<[^>]+>")
_WORD = re.compile(r"[a-zà-ÿß']+")
_EMOJI_CODE = re.compile(r":([a-z0-9_+-]+):")
_THANKS_TEXT = """
    thanks thank thanx thx ty tysm cheers ta ok okay k kk great perfect awesome cool nice
    makes sense helps helped helpful super brilliant excellent amazing wonderful fantastic
    lovely yes yep yeah sure understood noted appreciate appreciated gotcha alright
    merci danke gracias grazie obrigado obrigada
"""
_THANKS = frozenset(_THANKS_TEXT.split())
"""Words of thanks or agreement: a reply that only thanks holds at least one."""
_AROUND_TEXT = """
    you u so much very a lot many again all exactly what i needed was is that this it just
    the right answer answers answered my question for clear good to know got will do sounds
    really totally all right
"""
_AROUND = frozenset(_AROUND_TEXT.split())
"""Words that go with thanks without asking anything ("that's exactly what I needed")."""
_THANKS_EMOJI = frozenset(
    {"+1", "thumbsup", "pray", "raised_hands", "clap", "heart", "tada", "ok_hand", "100"}
    | {"white_check_mark", "heavy_check_mark", "muscle", "smile", "slightly_smiling_face"}
    | {"blush", "grinning", "star-struck", "heart_eyes", "sparkles", "bow"}
)
_THANKS_PICTOGRAPHS = frozenset("👍🙏🙌👏❤🎉👌✅✔💯💪😊🙂😀🤩😍✨🙇")
_QUESTION_OPENINGS_TEXT = """
    what what's whats how how's when where where's who who's whom whose which why
    is are was were do does did can could should shall will would may might must has have
"""
_QUESTION_OPENINGS = frozenset(_QUESTION_OPENINGS_TEXT.split())
"""Words a question opens with: a reply opening with one does not only thank."""
_REQUEST_OPENINGS_TEXT = """
    what what's whats how how's when where where's who who's whom whose which why
    any anything tell explain show list give find please same for about regarding
"""
_REQUEST_OPENINGS = frozenset(_REQUEST_OPENINGS_TEXT.split())
"""First words that make a reply read as a question or a request without a question mark:
"what about Munich", "and for part-timers", "tell me more", "same for contractors"."""
_FILLERS_TEXT = """
    and also so but or plus hmm hm oh ah um uh ok okay quick q question btw thanks thank
    you thx ty cheers great perfect cool nice got it right one more
"""
_FILLERS = frozenset(_FILLERS_TEXT.split())
"""Words a reply may open with before what it asks: "thanks, but what about Munich"."""
_SUBJECTS_TEXT = "i we you they he she it that this there these those my our your the a an any"
_SUBJECTS = frozenset(_SUBJECTS_TEXT.split())
"""After a modal opening, a subject makes a question of a reply without a question mark
("does that include weekends"); without one it is a remark ("should be fine")."""
_CORRECTION = re.compile(r"\bmeant\b|\b(i|we) mean\b|\binstead\b|\brather than\b|^not\b")
"""How a correction of the question reads: "no, I meant EMEA", "what I meant was the
handbook", "the Berlin office instead", "not the US one"."""
_PEOPLE_TEXT = "anyone anybody someone somebody everyone everybody folks y'all"
_PEOPLE = frozenset(_PEOPLE_TEXT.split())
"""Asking these is asking the people in the thread: "Can someone from HR confirm?"."""


_POINTING_TEXT = """
    can could would will you u please pls plz help answer answers this that these those it
    here there above one question q any idea ideas thoughts thought know think input take
    what do does is are the a an on with me us we i to for of maybe hey hi hello trellis look
    at see chime in weigh jump sure about how explain tell clue
"""
_POINTING = frozenset(_POINTING_TEXT.split())
"""Words that point at what was said or ask for an answer, and name nothing asked."""


def points_above(text: str) -> bool:
    """Whether a mention only points at what was said above it: every word (mentions,
    links and quoted lines aside) is one that points or asks, and names nothing."""
    return all(w in _POINTING for w in _words(_PERSON.sub(" ", _QUOTED.sub(" ", text))))


def _words(text: str) -> list[str]:
    plain = _LINK.sub(" ", text).replace("’", "'").lower()
    plain = _EMOJI_CODE.sub(" ", plain)
    words = [w.strip("'").removesuffix("'s") for w in _WORD.findall(plain)]
    return [w for w in words if w]


def thanks_or_agreement(text: str) -> bool:
    """True when `text` only thanks or agrees: no question mark, not opening as a question,
    at least one word or emoji of thanks, and nothing else but words that go with thanks
    ("Thanks, that's exactly what I needed!", "ok :+1:", "🙏")."""
    if "?" in text:
        return False
    words = _words(_QUOTED.sub(" ", text))
    if words and words[0] in _QUESTION_OPENINGS:
        return False
    emoji = set(_EMOJI_CODE.findall(text.lower())) & _THANKS_EMOJI
    emoji |= set(text) & _THANKS_PICTOGRAPHS
    thanked = bool(emoji) or any(w in _THANKS for w in words)
    return thanked and all(w in _THANKS or w in _AROUND for w in words)


def asks_trellis(text: str, *, bot_user_id: str | None, asked_here: bool = False) -> bool:
    """Whether a reply in a channel's thread Trellis answers in is a follow-up for Trellis.
    `asked_here`: its author asked Trellis in this thread before, so a correction of what
    they asked ("no, I meant EMEA") is for Trellis too."""
    if thanks_or_agreement(text):
        return False
    unquoted = _QUOTED.sub(" ", text).strip()
    opening = _PERSON.match(unquoted)
    if opening and opening.group(1) != bot_user_id:
        return False  # "<@U2> can you take this one?": addressed to someone else
    words = _words(unquoted)
    if _PEOPLE & set(words[:6]):
        return False  # "Is anyone else seeing this?"
    if "?" in unquoted:
        return True
    while words and words[0] in _FILLERS:
        words = words[1:]  # "hmm, and what about Munich"
    if not words:
        return False
    if asked_here and _CORRECTION.search(" ".join(words)):
        return True  # "no, I meant EMEA"
    if words[0] in _QUESTION_OPENINGS and len(words) > 1 and words[1] in _SUBJECTS:
        return True  # "does that include weekends", "can I carry them over"
    return words[0] in _REQUEST_OPENINGS
