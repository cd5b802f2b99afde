"""A workflow's input: typed, defaulted, and every problem explained per field."""

from __future__ import annotations

import pytest

from app.errors import InvalidInput, RuleViolation


def test_input_is_typed_and_defaults_are_applied(book):
    values = book.validate_input(
        "discount_request",
        {
            "customer": "  Acme  ",
            "percent": "12.5%",
            "seats": "30",
            "contact": "Ana@Acme.example",
            "renewal": "yes",
            "region": "apac",
            "reason": "",
        },
    )
    assert values == {
        "customer": "Acme",
        "percent": 12.5,
        "seats": 30,
        "region": "APAC",
        "contact": "ana@acme.example",
        "renewal": True,
    }
    assert book.validate_input("discount_request", {"customer": "A", "percent": 7}) == {
        "customer": "A",
        "percent": 7.0,
        "region": "EMEA",
    }


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({"percent": 5}, "customer", "“Customer” is required."),
        ({"customer": "A", "percent": "lots"}, "percent", "“Discount %” must be a number."),
        # A decimal comma is ambiguous ("7,5" is 7.5 in much of Europe, 75 read as thousands).
        (
            {"customer": "A", "percent": "7,5"},
            "percent",
            "“Discount %” must be written with a decimal point, like 7.5.",
        ),
        (
            {"customer": "A", "percent": "1,5"},
            "percent",
            "“Discount %” must be written with a decimal point, like 7.5.",
        ),
        ({"customer": "A", "percent": 120}, "percent", "“Discount %” must be at most 100."),
        ({"customer": "A", "percent": -1}, "percent", "“Discount %” must be at least 0."),
        (
            {"customer": "A", "percent": 5, "seats": "2.5"},
            "seats",
            "“Seats” must be a whole number.",
        ),
        ({"customer": "A", "percent": 5, "seats": 0}, "seats", "“Seats” must be at least 1."),
        (
            {"customer": "A", "percent": 5, "region": "LATAM"},
            "region",
            "“Region” must be one of: EMEA, AMER, APAC.",
        ),
        (
            {"customer": "A", "percent": 5, "contact": "ana"},
            "contact",
            "“Contact email” must be an email address like name@example.com.",
        ),
        (
            {"customer": "A", "percent": 5, "renewal": "maybe"},
            "renewal",
            "“Renewal” must be yes or no.",
        ),
        (
            {"customer": "x" * 41, "percent": 5},
            "customer",
            "“Customer” must be at most 40 characters.",
        ),
        (
            {"customer": "A", "percent": 5, "colour": "red"},
            "colour",
            "Discount request has no field “colour”. Its fields are: customer, percent, reason, "
            "seats, region, contact, renewal.",
        ),
    ],
)
def test_input_problems_are_explained_per_field(book, raw, field, message):
    with pytest.raises(InvalidInput) as caught:
        book.validate_input("discount_request", raw)
    assert caught.value.problems == {field: message}
    assert message in caught.value.user_message


def test_every_input_problem_is_reported_at_once(book):
    with pytest.raises(InvalidInput) as caught:
        book.validate_input("discount_request", {"percent": "abc"})
    assert set(caught.value.problems) == {"customer", "percent"}
    assert isinstance(caught.value, RuleViolation)


def test_thousands_separators_are_read_and_negative_zero_is_zero(book):
    values = book.validate_input(
        "discount_request", {"customer": "A", "percent": "-0", "seats": "1,500"}
    )
    assert values["seats"] == 1500
    assert str(values["percent"]) == "0.0"
