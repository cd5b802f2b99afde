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
            where = f"column {exc.column}" if getattr(exc, "column", None) else "somewhere"
            if getattr(exc, "line", None) and "\n" in source.strip():
                where = f"line {exc.line} {where} of the expression"
            raise ValueError(f"invalid CEL expression: syntax error at {where}") from exc
        return cls(source=source, program=env.program(ast))

    def holds(self, activation: Mapping[str, Any]) -> bool:
        try:
            result = self.program.evaluate({k: json_to_cel(v) for k, v in activation.items()})
        except CELEvalError as exc:
            raise ConditionError(_eval_message(exc)) from exc
        except Exception as exc:  # anything else cel-python raises still decides safely
            raise ConditionError(f"could not be evaluated ({exc})") from exc
        if not isinstance(result, celpy.celtypes.BoolType):
            raise ConditionError(_not_boolean(self.source, result))
        return bool(result)


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


def _eval_message(exc: CELEvalError) -> str:
    text = str(exc.args[0]) if exc.args else str(exc)
    if text.startswith("undeclared reference to"):
        name = exc.args[2][0] if len(exc.args) > 2 and exc.args[2] else "?"
        return f"unknown name {name!r}: conditions can use {', '.join(VARIABLES)}"
    if text.startswith("no such member"):
        return f"unknown field {text.rpartition(': ')[2]}"
    if text.startswith("found no matching overload"):
        return (
            "compares or combines values of different types (write 10.0, not 10, "
            "to compare with a number)"
        )
    return text
