"""`trellis check` checks each action's settings against its connector, secrets written in
rules.yml, and the placeholders of the prompts, each at its file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.cli.review import review_workspace
from app.config.workspace import default_workspace_path, load_workspace
from app.delivery.actions import check_rules
from app.errors import WorkspaceError


def demo_copy(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    shutil.copytree(default_workspace_path(), root)
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, words: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if words in line)


def errors(root: Path) -> list[WorkspaceError]:
    return review_workspace(root, {}).errors


def the_error(root: Path, words: str) -> WorkspaceError:
    found = [e for e in errors(root) if words in e.problem]
    assert len(found) == 1, [str(e) for e in errors(root)]
    return found[0]


def test_a_setting_the_connector_does_not_have_is_an_error_at_its_line(tmp_path):
    root = demo_copy(tmp_path)
    rules = root / "rules.yml"
    edit(
        rules,
        '          body: "{{ draft.text }}"\n',
        '          body: "{{ draft.text }}"\n          bcc: "audit@northwind.example"\n',
    )
    edit(rules, '          description: "{{ draft.text }}"\n', '          description: "{{ draft.text }}"\n          assignee: marcus\n')  # fmt: skip
    bcc = the_error(root, "with.bcc")
    assert (bcc.file, bcc.line) == ("rules.yml", line_of(rules, "bcc:"))
    assert "the email connector has no setting 'bcc' (did you mean 'cc'?)" in bcc.problem
    assert "to, cc, subject, body" in bcc.problem
    assignee = the_error(root, "with.assignee")
    assert assignee.line == line_of(rules, "assignee:")
    assert "summary, description, labels, comment_on" in assignee.problem


def test_a_secret_written_in_rules_yml_is_an_error_that_points_to_an_environment_variable(tmp_path):
    root = demo_copy(tmp_path)
    rules = root / "rules.yml"
    edit(rules, 'hooks/discounts"}', 'hooks/discounts", secret: abc}')
    edit(rules, "project: SUP,", "project: SUP, token: t0ps3cret,")
    action = the_error(root, "with.secret")
    assert action.line == line_of(rules, "secret: abc")
    assert "a secret written in rules.yml" in action.problem
    assert (
        "environment variable" in action.problem
        and "connectors.webhook.secret_env" in action.problem
    )
    connector = the_error(root, "connectors.ticketing.token")
    assert "connectors.ticketing.token_env" in connector.problem
    assert "abc" not in str(action) and "t0ps3cret" not in str(connector)


def test_trellis_does_not_start_with_a_setting_its_connector_does_not_have(tmp_path):
    root = demo_copy(tmp_path)
    edit(root / "rules.yml", '          body: "{{ draft.text }}"\n', '          body: "{{ draft.text }}"\n          bcc: "audit@northwind.example"\n')  # fmt: skip
    with pytest.raises(WorkspaceError, match="has no setting 'bcc'"):
        check_rules(load_workspace(root).rules, {})


def test_a_prompt_placeholder_nothing_fills_is_an_error_at_its_line(tmp_path):
    root = demo_copy(tmp_path)
    prompt = root / "prompts" / "discount_request.md"
    edit(prompt, "Requested discount: {percent}%", "Requested discount: {percent}% on {product}")
    edit(
        root / "prompts" / "answer.md", "assistant of {company}", "assistant of {company} ({team})"
    )
    found = the_error(root, "{product}")
    assert (found.file, found.line) == ("prompts/discount_request.md", line_of(prompt, "{product}"))
    assert "neither an input of workflow discount_request nor {company}" in found.problem
    assert "{customer}, {percent}, {reason}" in found.problem
    assert the_error(root, "{team}").file == "prompts/answer.md"


def test_the_demo_prompts_and_actions_pass(tmp_path):
    assert errors(demo_copy(tmp_path)) == []


def test_without_a_model_check_says_which_drafts_go_out_and_who_reads_them_first(tmp_path):
    root = demo_copy(tmp_path)
    edit(
        root / "rules.yml",
        '        with: {url: "http://127.0.0.1:8089/hooks/discounts"}\n',
        '        with: {url: "http://127.0.0.1:8089/hooks/discounts", note: "{{ draft.text }}"}\n',
    )
    warnings = [str(w) for w in review_workspace(root, {}).warnings]
    discount = next(w for w in warnings if "workflows.discount_request:" in w)
    assert "without a model (ANTHROPIC_API_KEY is not set)" in discount
    assert "does not follow the free text of prompts/discount_request" in discount
    assert "approval tier 1 would approve automatically wait for sales-managers" in discount
    reply = next(w for w in warnings if "workflows.customer_reply:" in w)
    assert "an approver should edit it before it goes out" in reply
    with_model = review_workspace(root, {"ANTHROPIC_API_KEY": "sk-ant-test"}).warnings
    assert not [w for w in with_model if "without a model" in str(w)]
