"""What a person types into a workflow's fields, checked and converted to the field's type.

`number` becomes a float and `integer` an int ("12.5%" and "1,500" are read; a decimal
comma is refused rather than guessed), `boolean` accepts yes/no words, `email` is
lower-cased, `choice` takes the spelling rules.yml gives. Every problem is reported at
once, one message per field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.config.people import EMAIL_RE
from app.errors import InvalidInput, InvalidValue
from app.rules.schema import InputField, Workflow

MAX_INTEGER = 2**63 - 1  # CEL ints are 64-bit
TRUE_WORDS = {"true", "yes", "y", "1", "on"}
FALSE_WORDS = {"false", "no", "n", "0", "off"}
_THOUSANDS = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?")


def validate_input(workflow: Workflow, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Typed values for every field, or InvalidInput with one message per field."""
    problems: dict[str, str] = {}
    for name in raw:
        if name not in workflow.inputs:
            known = ", ".join(workflow.inputs) or "none"
            problems[name] = f"{workflow.title} has no field “{name}”. Its fields are: {known}."
    values: dict[str, Any] = {}
    for name, spec in workflow.inputs.items():
        value = raw.get(name)
        if is_blank(value):
            if spec.default is not None:
                values[name] = coerce(spec, spec.default)
            elif spec.required:
                problems[name] = f"“{spec.title(name)}” is required."
            continue
        try:
            values[name] = coerce(spec, value)
        except InvalidValue as exc:
            problems[name] = f"“{spec.title(name)}” {exc}."
    if problems:
        raise InvalidInput(problems)
    return values


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def coerce(spec: InputField, value: Any) -> Any:
    """One value converted to the field's type, or InvalidValue('must be ...')."""
    kind = spec.type
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in TRUE_WORDS | FALSE_WORDS:
            return word in TRUE_WORDS
        raise InvalidValue("must be yes or no")
    if kind in ("number", "integer"):
        number = _number(value, kind)
        _bounds(spec, number)
        return number
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidValue("must be text")
    text = str(value).strip()
    if kind == "email":
        if not EMAIL_RE.match(text.lower()):
            raise InvalidValue("must be an email address like name@example.com")
        return text.lower()
    if kind == "choice":
        for choice in spec.choices or ():
            if text.lower() == choice.lower():
                return choice
        raise InvalidValue("must be one of: " + ", ".join(spec.choices or ()))
    _bounds(spec, len(text), unit=" characters")
    return text


def _number(value: Any, kind: str) -> float | int:
    if isinstance(value, bool):
        raise InvalidValue("must be a number")
    if isinstance(value, str):
        text = value.strip().removesuffix("%").strip()
        if "," in text:
            # "1,500" is a thousand and a half; "1,5" or "7,5" may be a decimal comma:
            # guessing would turn 7.5 % into 75 %.
            if not _THOUSANDS.fullmatch(text):
                raise InvalidValue("must be written with a decimal point, like 7.5")
            text = text.replace(",", "")
        try:
            value = float(text)
        except ValueError:
            raise InvalidValue(
                "must be a whole number" if kind == "integer" else "must be a number"
            ) from None
    if (
        not isinstance(value, int | float)
        or value != value
        or value in (float("inf"), float("-inf"))
    ):
        raise InvalidValue("must be a number")
    if kind == "integer":
        if float(value) != int(value):
            raise InvalidValue("must be a whole number")
        if abs(int(value)) > MAX_INTEGER:
            raise InvalidValue("is too large")
        return int(value) + 0  # no negative zero
    return float(value) + 0.0


def _bounds(spec: InputField, amount: float, unit: str = "") -> None:
    if spec.min is not None and amount < spec.min:
        raise InvalidValue(f"must be at least {spec.min:g}{unit}")
    if spec.max is not None and amount > spec.max:
        raise InvalidValue(f"must be at most {spec.max:g}{unit}")
