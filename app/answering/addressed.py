"""Whether a message in a thread Trellis answers in is a question for Trellis.

Every reply in an answer thread used to be answered as a follow-up, so "Thanks, that's
what I needed!" got "I couldn't find a well-supported answer…" and was passed on to the
topic's owners as an unanswered question, and two colleagues talking under an answer
("<@U2> can you take this one?", "I'll check with finance") were interrupted by it.

- `thanks_or_agreement`: a reply that only thanks or agrees ("thanks!", "ok, got it",
  "perfect, that helps 🙏") is never a question, in a channel or a direct message.
- `asks_trellis`: in a channel's thread, a reply is a follow-up for Trellis when it is not
  addressed to someone else (it mentions a person and not Trellis) and reads as a question
  or a request: it has a question mark, or it opens like one ("what about contractors",
  "and for part-timers", "tell me more"). In a direct message with Trellis everything but
  thanks is for Trellis.

Deterministic and dependency-free, like `app.text`.
"""

from __future__ import annotations

import re

_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_WORD = re.compile(r"[a-z']+")
_EMOJI_CODE = re.compile(r":[a-z0-9_+-]+:")
_THANKS_TEXT = """
    thanks thank you thx ty tysm cheers ta ok okay k kk great perfect awesome cool nice
    got it makes sense that this helps helped helpful will do sounds good super brilliant
    excellent amazing wonderful fantastic lovely yes yep yeah sure understood noted
    appreciate appreciated much very so a lot many again all exactly what i needed was is
    just the right answer for clear good to know gotcha alright all right
"""
_THANKS = frozenset(_THANKS_TEXT.split())
_OPENINGS_TEXT = """
    what what's whats how how's when where where's who who's whom whose which why can could
    is are was were do does did should shall will would may might must has have had am and
    or also plus but so any anything tell explain show list give find please same ok okay
"""
_OPENINGS = frozenset(_OPENINGS_TEXT.split())
"""First words that make a reply read as a question or a request without a question mark:
"and for part-timers", "what about Munich", "tell me more", "same for contractors"."""
_LEADING_TEXT = "thanks thank you thx ty cheers great perfect cool nice got it right but"
_LEADING = frozenset(_LEADING_TEXT.split())
"""Words a reply may open with before its question: "thanks, but what about Munich"."""


def thanks_or_agreement(text: str) -> bool:
    """True when `text` only thanks or agrees: no question mark, and every word one of
    thanks, agreement or praise ("Thanks, that's exactly what I needed!", "ok :+1:"), or
    no words at all, only emoji ("🙏")."""
    if "?" in text:
        return False
    plain = _EMOJI_CODE.sub(" ", _MENTION.sub(" ", text).lower())
    words = [w.strip("'").removesuffix("'s") for w in _WORD.findall(plain)]
    words = [w for w in words if w]
    if not words:
        return bool(plain.strip()) and not any(ch.isalnum() for ch in plain)
    return all(w in _THANKS for w in words)


def asks_trellis(text: str, *, bot_user_id: str | None, direct: bool) -> bool:
    """Whether a reply in a thread Trellis answers in is a follow-up for Trellis."""
    if thanks_or_agreement(text):
        return False
    if direct:
        return True
    mentioned = set(_MENTION.findall(text))
    if mentioned - {bot_user_id} and bot_user_id not in mentioned:
        return False  # addressed to someone else in the thread
    if "?" in text:
        return True
    words = _WORD.findall(_MENTION.sub(" ", text).lower())
    while words and words[0] in _LEADING:
        words = words[1:]  # "thanks, but what about Munich"
    return bool(words) and words[0] in _OPENINGS
