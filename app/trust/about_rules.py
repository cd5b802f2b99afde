"""rules.yml in words: approval tiers from their CEL conditions, and who approves them.

A condition is read into a small tree (`or`, `and`, `not`, comparisons, `in`, `has`) and
said in the business's words, using each input's label: `input.percent <= 25.0` under a
tier whose predecessor was `input.percent <= 10.0` reads "Discount more than 10 % and up
to 25 %". When every tier compares one number, the tiers become ranges (each applies
where it holds and no earlier tier did). A condition outside what this reads is quoted as
written, so nothing is ever said that the rule does not say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import celpy
from celpy.celparser import CELParseError

from app.config.directory import Directory
from app.rules.schema import MANAGER, ApprovalTier, Workflow

COMPARISONS = {
    "relation_le": "<=",
    "relation_lt": "<",
    "relation_ge": ">=",
    "relation_gt": ">",
    "relation_eq": "==",
    "relation_ne": "!=",
}
FLIPPED = {"<=": ">=", "<": ">", ">=": "<=", ">": "<", "==": "==", "!=": "!="}
FACTS = {
    ("channel", "is_shared"): (
        "the channel is shared with another organisation",
        "the channel is not shared with another organisation",
    ),
    ("channel", "is_private"): ("the channel is private", "the channel is not private"),
    ("channel", "is_dm"): (
        "it is asked in a direct message",
        "it is not asked in a direct message",
    ),
}
SUBJECTS = {
    "requester": "the requester's {}",
    "channel": "the channel's {}",
    "draft": "the draft's {}",
}
MAX_NAMES = 4


class Unreadable(Exception):
    """A condition this module does not put into words; it is quoted instead."""


Node = tuple[Any, ...]


def parse(source: str) -> Node:
    return _node(celpy.Environment().compile(source))


def _node(tree: Any) -> Node:
    """One node of cel-python's parse tree (lark: `data` and `children`; tokens are str)."""
    if isinstance(tree, str):
        raise Unreadable(tree)
    kids = tree.children
    if tree.data in ("conditionalor", "conditionaland") and len(kids) == 2:
        return ("or" if tree.data == "conditionalor" else "and", _node(kids[0]), _node(kids[1]))
    if tree.data == "relation" and len(kids) == 2 and not isinstance(kids[0], str):
        left, right = _node(kids[0].children[0]), _node(kids[1])
        if kids[0].data == "relation_in":
            return ("in", left, right)
        if kids[0].data in COMPARISONS:
            return ("cmp", COMPARISONS[kids[0].data], left, right)
    if tree.data == "unary" and len(kids) == 2 and not isinstance(kids[0], str):
        inner = _node(kids[1])
        if kids[0].data == "unary_not":
            return ("not", inner)
        if kids[0].data == "unary_neg" and inner[0] == "lit" and isinstance(inner[1], int | float):
            return ("lit", -inner[1])
    if tree.data == "member_dot" and len(kids) == 2 and isinstance(kids[1], str):
        base = _node(kids[0])
        if base[0] == "path":
            return ("path", (*base[1], str(kids[1])))
    if tree.data == "ident" and len(kids) == 1:
        return ("path", (str(kids[0]),))
    if tree.data == "literal" and len(kids) == 1:
        return ("lit", _literal(str(kids[0])))
    if tree.data == "ident_arg" and len(kids) == 2 and str(kids[0]) == "has":
        return ("has", _node(kids[1]))
    if tree.data == "list_lit" and len(kids) == 1:
        return ("list", tuple(_node(k) for k in kids[0].children))
    if len(kids) == 1 and tree.data not in ("ident_arg", "member_dot_arg", "member_index"):
        return _node(kids[0])
    raise Unreadable(tree.data)


def _literal(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if text[:1] in ("'", '"'):
        # Plain quoted strings only; escapes, raw and triple-quoted strings are quoted as CEL.
        if len(text) < 2 or text[-1] != text[0] or "\\" in text or text.startswith(text[0] * 3):
            raise Unreadable(text)
        return text[1:-1]
    try:
        return int(text.rstrip("uU"))
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise Unreadable(text) from None


# --- Words ------------------------------------------------------------------------------


def number(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class Field:
    """How an input is named in words: its label, and a unit taken from it ("Discount %")."""

    name: str
    unit: str = ""

    @classmethod
    def of(cls, workflow: Workflow | None, key: str) -> Field:
        spec = workflow.inputs.get(key) if workflow else None
        label = spec.title(key) if spec else key.replace("_", " ")
        if "%" in label:
            return cls(label.replace("%", "").strip() or key, " %")
        return cls(label)

    def value(self, value: Any) -> str:
        return f"{number(value)}{self.unit}" if isinstance(value, int | float) else f"“{value}”"


def _subject(path: tuple[str, ...], workflow: Workflow | None) -> Field:
    if len(path) == 2 and path[0] == "input":
        return Field.of(workflow, path[1])
    if len(path) == 2 and path[0] in SUBJECTS:
        return Field(SUBJECTS[path[0]].format(path[1].replace("_", " ")))
    raise Unreadable(".".join(path))


def say(node: Node, workflow: Workflow | None = None) -> str:
    kind = node[0]
    if kind == "or":
        return f"{say(node[1], workflow)}, or {say(node[2], workflow)}"
    if kind == "and":
        return f"{_grouped(node[1], workflow)} and {_grouped(node[2], workflow)}"
    if kind == "not":
        inner = node[1]
        if inner[0] == "path" and inner[1] in FACTS:
            return FACTS[inner[1]][1]
        if inner[0] == "has":
            return say(inner, workflow).replace(" is filled in", " is left empty")
        return f"it is not the case that {say(inner, workflow)}"
    if kind == "path" and node[1] in FACTS:
        return FACTS[node[1]][0]
    if kind == "has" and node[1][0] == "path":
        return f"{_subject(node[1][1], workflow).name} is filled in"
    if kind == "in":
        return _in(node[1], node[2], workflow)
    if kind == "cmp":
        op, left, right = node[1], node[2], node[3]
        if left[0] == "lit" and right[0] == "path":
            op, left, right = FLIPPED[op], right, left
        if left[0] == "path" and right[0] == "lit":
            subject = _subject(left[1], workflow)
            return f"{subject.name} {_compared(op, right[1], subject)}"
    raise Unreadable(kind)


def _grouped(node: Node, workflow: Workflow | None) -> str:
    text = say(node, workflow)
    return f"either {text}" if node[0] == "or" else text


def _compared(op: str, value: Any, subject: Field) -> str:
    shown = subject.value(value)
    return {
        "<=": f"is up to {shown}",
        "<": f"is less than {shown}",
        ">=": f"is {shown} or more",
        ">": f"is more than {shown}",
        "==": f"is {shown}",
        "!=": f"is not {shown}",
    }[op]


def _in(needle: Node, haystack: Node, workflow: Workflow | None) -> str:
    if needle[0] == "lit" and haystack[0] == "path":
        if haystack[1] == ("draft", "tags"):
            return f"a cited document is tagged “{needle[1]}”"
        if haystack[1] == ("requester", "groups"):
            return f"the requester is in {needle[1]}"
    if needle[0] == "path" and haystack[0] == "list":
        subject = _subject(needle[1], workflow)
        values = [subject.value(v[1]) for v in haystack[1] if v[0] == "lit"]
        if len(values) == len(haystack[1]):
            return f"{subject.name} is one of {', '.join(values)}"
    raise Unreadable("in")


def condition_words(source: str, workflow: Workflow | None = None) -> str:
    """The condition in words, or the CEL itself in quotes when it cannot be said."""
    try:
        return say(parse(source), workflow)
    except (Unreadable, CELParseError):
        return f"`{source.strip()}` holds"


# --- Tiers as ranges ------------------------------------------------------------------

Bound = tuple[float | None, bool, float | None, bool]
"""(low, low included, high, high included); None is unbounded."""


def _bound(node: Node) -> tuple[str, Bound]:
    if node[0] == "and":
        (key, a), (other, b) = _bound(node[1]), _bound(node[2])
        if key != other:
            raise Unreadable("two fields")
        return key, _meet(a, b)
    if node[0] != "cmp":
        raise Unreadable(node[0])
    op, left, right = node[1], node[2], node[3]
    if left[0] == "lit":
        op, left, right = FLIPPED[op], right, left
    value = right[1] if right[0] == "lit" else None
    if left[0] != "path" or len(left[1]) != 2 or left[1][0] != "input":
        raise Unreadable("not an input")
    if not isinstance(value, int | float) or isinstance(value, bool) or op == "!=":
        raise Unreadable("not a number")
    bound: Bound = {
        "<=": (None, False, value, True),
        "<": (None, False, value, False),
        ">=": (value, True, None, False),
        ">": (value, False, None, False),
        "==": (value, True, value, True),
    }[op]
    return left[1][1], bound


def _meet(a: Bound, b: Bound) -> Bound:
    low, low_in = a[0], a[1]
    if b[0] is not None and (low is None or b[0] > low or (b[0] == low and not b[1])):
        low, low_in = b[0], b[1]
    high, high_in = a[2], a[3]
    if b[2] is not None and (high is None or b[2] < high or (b[2] == high and not b[3])):
        high, high_in = b[2], b[3]
    return low, low_in, high, high_in


def _outside(bound: Bound) -> Bound:
    low, low_in, high, high_in = bound
    if low is None and high is not None:
        return high, not high_in, None, False
    if high is None and low is not None:
        return None, False, low, not low_in
    raise Unreadable("a range has no single outside")


def _empty(bound: Bound) -> bool:
    low, low_in, high, high_in = bound
    if low is None or high is None:
        return False
    return low > high or (low == high and not (low_in and high_in))


def _range_words(bound: Bound, subject: Field) -> str:
    low, low_in, high, high_in = bound
    if low is not None and low == high:
        return f"{subject.name} exactly {subject.value(low)}"
    parts = []
    if low is not None:
        parts.append(
            f"{subject.value(low)} or more" if low_in else f"more than {subject.value(low)}"
        )
    if high is not None:
        parts.append(
            f"up to {subject.value(high)}" if high_in else f"less than {subject.value(high)}"
        )
    return f"{subject.name} {' and '.join(parts)}" if parts else "every request"


def tier_conditions(workflow: Workflow) -> list[str]:
    """When each tier applies, in words: ranges of one number when the tiers allow it,
    otherwise each condition in turn ("otherwise, when …")."""
    tiers = workflow.approval
    try:
        return _as_ranges(workflow, tiers)
    except (Unreadable, CELParseError):
        pass
    words = []
    for i, tier in enumerate(tiers):
        if tier.when is None:
            words.append("otherwise" if i else "every request")
        else:
            when = condition_words(tier.when.source, workflow)
            words.append(f"{'otherwise, when' if i else 'when'} {when}")
    return words


def _as_ranges(workflow: Workflow, tiers: Sequence[ApprovalTier]) -> list[str]:
    bounds: list[tuple[str, Bound] | None] = [
        _bound(parse(t.when.source)) if t.when is not None else None for t in tiers
    ]
    keys = {b[0] for b in bounds if b is not None}
    if len(keys) != 1:
        raise Unreadable("not one number")
    key = keys.pop()
    subject = Field.of(workflow, key)
    left: Bound = (None, False, None, False)
    words = []
    for found in bounds:
        applies = _meet(left, found[1]) if found is not None else left
        words.append(
            "never (an earlier tier always applies first)"
            if _empty(applies)
            else _range_words(applies, subject)
        )
        if found is not None:
            left = _meet(left, _outside(found[1]))
    return words


def approvers_words(tier_approvers: Sequence[str], require: str, directory: Directory) -> str:
    if not tier_approvers:
        return "approved automatically"
    named = [_principal_words(p, directory) for p in tier_approvers]
    if len(named) == 1:
        return (
            named[0]
            if tier_approvers[0] == MANAGER or "@" in tier_approvers[0]
            else f"one of {named[0]}"
        )
    if require == "all":
        return "one distinct person from each of " + _listed(named, "and")
    return "one person from " + _listed(named, "or")


def _principal_words(principal: str, directory: Directory) -> str:
    if principal == MANAGER:
        return "the requester's manager"
    if "@" in principal:
        person = directory.by_email(principal)
        return person.name if person else principal
    people = sorted(p.name for p in directory.members(principal))
    if not people:
        return f"{principal} (nobody in the directory)"
    shown = ", ".join(people[:MAX_NAMES]) + (
        f" and {len(people) - MAX_NAMES} more" if len(people) > MAX_NAMES else ""
    )
    return f"{principal} ({shown})"


def _listed(items: Sequence[str], word: str) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"
