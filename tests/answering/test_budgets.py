"""Model prices, routing and daily budgets computed from the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.answering import budgets
from app.answering.pricing import PRICES, cost_of, price_of
from app.config.workspace import (
    BudgetsConfig,
    TrellisConfig,
    default_workspace_path,
    load_workspace,
)
from app.domain import Usage
from app.trust.audit import AuditLog

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
LIAM = "liam.carter@northwind.example"
PRIYA = "priya.nair@northwind.example"
SAM = "sam.ortiz@northwind.example"


def test_cache_reads_and_writes_are_priced_apart_from_input_and_output():
    usage = Usage(
        input_tokens=1_000_000,
        output_tokens=1_000_000,
        cache_read_tokens=1_000_000,
        cache_write_tokens=1_000_000,
    )
    cost = cost_of(usage, "claude-sonnet-4-5")
    assert (cost.input, cost.output, cost.cache_write, cost.cache_read) == (3.0, 15.0, 3.75, 0.30)
    assert cost.total == pytest.approx(22.05)


def test_dated_model_ids_match_the_longest_prefix_and_unknown_ones_are_priced_dearest():
    assert price_of("claude-sonnet-4-5-20250929") == PRICES["claude-sonnet-4-5"]
    assert price_of("claude-opus-4-1-20250805") == PRICES["claude-opus-4-1"]
    assert price_of("claude-haiku-4-5") == PRICES["claude-haiku-4-5"]
    assert price_of("some-new-model").output == max(p.output for p in PRICES.values())
    assert price_of(None) is None
    assert cost_of(Usage(input_tokens=500), None).total == 0


def test_tasks_are_routed_to_the_models_trellis_yml_names():
    config = TrellisConfig.model_validate(
        {"models": {"answer": "claude-sonnet-4-5", "classify": "claude-haiku-4-5"}}
    )
    assert budgets.model_for(config, "answer") == "claude-sonnet-4-5"
    assert budgets.model_for(config, "classify") == "claude-haiku-4-5"
    assert budgets.model_for(config, "draft") == "claude-sonnet-4-5"  # no draft model: answer's


async def _spent(
    log: AuditLog,
    email: str,
    *,
    model: str,
    input_tokens: int,
    kind: str = "question",
    when: datetime = NOW,
) -> None:
    log.clock = lambda: when
    await log.record(
        kind=kind,
        actor_email=email,
        payload={"model": model, "usage": Usage(input_tokens=input_tokens).__dict__},
    )


async def test_daily_spend_counts_today_for_the_person_and_their_budgeted_team(database):
    directory = load_workspace(default_workspace_path()).directory
    log = AuditLog(database)
    await _spent(log, LIAM, model="claude-sonnet-4-5", input_tokens=1_000_000)  # $3
    await _spent(log, PRIYA, model="claude-haiku-4-5", input_tokens=1_000_000)  # $1, sales
    await _spent(log, SAM, model="claude-sonnet-4-5", input_tokens=1_000_000)  # not sales
    await _spent(
        log, LIAM, model="claude-sonnet-4-5", input_tokens=1_000_000, when=NOW - timedelta(days=1)
    )  # yesterday
    await _spent(
        log, LIAM, model="claude-sonnet-4-5", input_tokens=1_000_000, kind="eval.run"
    )  # not spend
    liam = directory.by_email(LIAM)
    config = BudgetsConfig(per_person_daily_usd=5, per_group_daily_usd={"sales": 3.5})
    spend = await budgets.spend_today(
        database, person=liam, directory=directory, budgets=config, now=NOW
    )
    assert spend.person_usd == pytest.approx(3.0)
    assert spend.groups_usd == {"sales": pytest.approx(4.0)}
    reason = budgets.over_budget(spend, config)
    assert reason is not None and "sales team" in reason
    assert budgets.over_budget(spend, BudgetsConfig(per_person_daily_usd=5)) is None
    assert "per person" in budgets.over_budget(spend, BudgetsConfig(per_person_daily_usd=2.5))
