"""Conditions in rules.yml: CEL expressions compiled once and evaluated to true or false.

A condition sees four variables:

    requester  email, name, groups (list), department, region, title, manager ("" if none)
    channel    id, name, is_shared, is_private, is_dm
    input      the workflow's fields: `number` as a CEL double (so `input.percent <= 10.0`
               holds for 5 and 5.0 alike), `integer` as an int, `boolean` as a bool, the
               rest as strings; an optional field left empty is absent (test it with `has`)
    draft      text, confidence (double), citations (list of {doc_id, title, tags}),
               tags (every tag of every cited document)

`app.rules.facts` builds their values. Whatever goes wrong while evaluating is a
ConditionError, so that the caller can decide on the safe side.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import celpy
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError

from app.errors import ConditionError

VARIABLES = ("requester", "channel", "input", "draft")


@lru_cache(maxsize=1)
def _cel() -> celpy.Environment:
    return celpy.Environment()


@dataclass(frozen=True, eq=False)
class Condition:
    """A compiled CEL expression that yields true or false."""

    source: str
    program: celpy.Runner = field(repr=False)

    @classmethod
    def compile(cls, source: str) -> Condition:
        """Compile `source`; a syntax error is a ValueError naming the column."""
        env = _cel()
        try:
            ast = env.compile(source)
        except CELParseError as exc:
            raise ValueError(_syntax_message(source, exc)) from exc
        return cls(source=source, program=env.program(ast))

    def holds(self, activation: Mapping[str, Any]) -> bool:
        try:
            result = self.program.evaluate({k: json_to_cel(v) for k, v in activation.items()})
        except CELEvalError as exc:
            raise ConditionError(_eval_message(exc, self.source)) from exc
        except Exception as exc:  # anything else cel-python raises still decides safely
            raise ConditionError(f"could not be evaluated ({exc})") from exc
        if not isinstance(result, celpy.celtypes.BoolType):
            raise ConditionError(_not_boolean(self.source, result))
        return bool(result)


def _syntax_message(source: str, exc: CELParseError) -> str:
    """Where the syntax error is, what the parser expected there when it says, and the
    expression's line with a caret under the column."""
    line, column = getattr(exc, "line", None), getattr(exc, "column", None)
    cause = exc.__context__
    ended = getattr(getattr(cause, "token", None), "type", None) == "$END"
    where = f"column {column}" if column else "somewhere"
    if line and "\n" in source.strip():
        where = f"line {line} {where} of the expression"
    if ended:  # the parser gives the last token's place
        lines = f"line {line}, " if line and "\n" in source.strip() else ""
        where = f"{lines}the end of the expression"
    message = f"invalid CEL expression: syntax error at {where}"
    if expected := _expected(cause, ended):
        message += f": {expected}"
    if line and column:
        text = source.split("\n")[line - 1].rstrip()
        caret = len(text) if ended else column - 1
        message += f"\n    {text}\n    {' ' * caret}^"
    return message


_VALUES = {"IDENT", "INT_LIT", "FLOAT_LIT", "STRING_LIT"}
_OPERATORS = {"LESSTHAN", "MORETHAN", "PLUS", "STAR"}
_CLOSING = {"RPAR": "')'", "RSQB": "']'", "RBRACE": "'}'"}


def _expected(cause: BaseException | None, ended: bool) -> str:
    """What the parser (lark, under cel-python) expected, in words; "" when it did not say."""
    expected = set(getattr(cause, "expected", None) or getattr(cause, "allowed", None) or ())
    token = str(getattr(cause, "token", None) or getattr(cause, "char", None) or "")
    if not expected:
        return ""
    if expected <= set(_CLOSING):
        said = "expected " + " or ".join(_CLOSING[name] for name in sorted(expected))
    elif expected >= _VALUES:
        said = "expected a value: a number, a 'quoted string', a name such as input.amount, or ("
    elif expected >= _OPERATORS:
        said = "expected an operator (==, !=, <, <=, >, >=, &&, ||, in) or the end"
    else:
        return ""
    return said if ended else said + _found(token)


def _found(token: str) -> str:
    if token in ("and", "or", "not"):
        return " (CEL writes && for and, || for or, ! for not)"
    if token == "=":
        return " (CEL compares with ==, !=, <, <=, > and >=)"
    if token in ('"', "'"):
        return f", not {token} (a quote left open?)"
    return f", not {token!r}" if token else ""


NOT_BOOLEAN = "is not true or false"


def _not_boolean(source: str, result: Any) -> str:
    """What a condition that gives a value instead of a yes or no gives, and how to ask."""
    types = celpy.celtypes
    examples = {
        types.StringType: ("text", f'{source} != ""'),
        types.DoubleType: ("a number", f"{source} > 0.0"),
        types.IntType: ("a number", f"{source} > 0"),
        types.ListType: ("a list", f"size({source}) > 0"),
        types.MapType: ("a map", f"size({source}) > 0"),
    }
    for kind, (said, example) in examples.items():
        if isinstance(result, kind):
            return f"{NOT_BOOLEAN}: it gives {said}; compare it with something, as in {example}"
    return f"{NOT_BOOLEAN}: it gives {result!r}"


def _eval_message(exc: CELEvalError, source: str) -> str:
    text = str(exc.args[0]) if exc.args else str(exc)
    if text.startswith("undeclared reference to"):
        name = exc.args[2][0] if len(exc.args) > 2 and exc.args[2] else "?"
        return f"unknown name {name!r}: conditions can use {', '.join(VARIABLES)}"
    if text.startswith("no such member"):
        return f"unknown field {text.rpartition(': ')[2]}"
    if text.startswith("found no matching overload"):
        return f"compares or combines values of different types{_mismatch(text, source)}"
    return text


_TYPES = re.compile(r"celtypes\.(\w+)Type")
_QUOTED_NUMBER = re.compile(r"""(['"])(-?\d+(?:\.\d+)?)\1""")


def _mismatch(text: str, source: str) -> str:
    """How to make the two sides of a comparison the same type, from the types the
    evaluator names (cel-python: "... applied to '(<class 'celpy.celtypes.DoubleType'>, ...")."""
    types = set(_TYPES.findall(text))
    if types == {"Int", "Double"}:
        return " (write 10.0, not 10, to compare with a number)"
    if "String" in types and types & {"Int", "Double"}:
        if quoted := _QUOTED_NUMBER.search(source):
            number = quoted.group(2)
            if "Double" in types and "." not in number:
                number += ".0"
            return (
                f" ({quoted.group(0)} is text, as it is in quotes: write {number} without "
                "quotes to compare with a number)"
            )
        return " (text is compared with a number: put text in quotes, numbers without)"
    return ""
