"""The ticketing connector against a local Jira Cloud REST v3 stand-in on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.errors import ConnectorConfigError, DownstreamError, DownstreamUnavailable
from tests.peers import approved_action
from tests.peers.jira import JiraPeer, adf_plain_text
from workflows.registry import validate_config
from workflows.ticketing import TicketingConnector, adf_document, marker_for

TOKEN = "atlassian-api-token"
ENV = {"JIRA_TOKEN": TOKEN}
KEY = "outbox:act-1:2"
TEXT = "Hello Jane,\n\nWe can offer Initech 15% off this renewal.\nThanks for your patience."


@pytest.fixture
async def jira() -> AsyncIterator[JiraPeer]:
    async with JiraPeer(email="trellis@acme.example", token=TOKEN) as peer:
        yield peer


def config(peer: JiraPeer, env: dict[str, str] = ENV, **changes: object):
    raw = {
        "base_url": peer.url,
        "project": "SUP",
        "email": "trellis@acme.example",
        "token_env": "JIRA_TOKEN",
        "timeout": 5,
        **changes,
    }
    return validate_config("ticketing", raw, env)


async def deliver(peer: JiraPeer, params: dict | None = None, *, key: str = KEY, **changes):
    action_changes = {k: changes.pop(k) for k in ("title", "text") if k in changes}
    action = approved_action("ticketing", params or {"labels": ["discount"]}, **action_changes)
    return await TicketingConnector().execute(
        action, config=config(peer, **changes), idempotency_key=key
    )


async def test_an_issue_is_created_with_an_adf_description_and_a_marker_label(
    jira: JiraPeer,
) -> None:
    result = await deliver(jira)

    assert result.reference == "SUP-1"
    assert result.url == f"{jira.url}/browse/SUP-1"
    assert result.summary == "Created SUP-1 in Jira"
    fields = jira.issues["SUP-1"].fields
    assert fields["summary"] == "Discount for Initech"
    assert fields["issuetype"] == {"name": "Task"}
    assert fields["labels"] == ["discount", marker_for(KEY)]
    assert fields["description"]["type"] == "doc"
    assert adf_plain_text(fields["description"]).strip() == TEXT


async def test_a_repeat_with_the_same_key_finds_the_issue_instead_of_creating_one(
    jira: JiraPeer,
) -> None:
    first = await deliver(jira)
    again = await deliver(jira)
    other = await deliver(jira, key="outbox:act-2:2")

    assert again.reference == first.reference == "SUP-1"
    assert other.reference == "SUP-2"
    assert list(jira.issues) == ["SUP-1", "SUP-2"]
    creates = [r for r in jira.requests if r == ("POST", "/rest/api/3/issue")]
    assert len(creates) == 2
    assert jira.requests.count(("POST", "/rest/api/3/search/jql")) == 3


async def test_a_lost_reply_after_the_create_does_not_create_twice(jira: JiraPeer) -> None:
    jira.faults.reset(after=True, method="POST", path="/rest/api/3/issue")

    with pytest.raises(DownstreamUnavailable):
        await deliver(jira)
    assert list(jira.issues) == ["SUP-1"]

    retried = await deliver(jira)
    assert retried.reference == "SUP-1"
    assert list(jira.issues) == ["SUP-1"]


async def test_summary_description_and_labels_can_be_set_per_action(jira: JiraPeer) -> None:
    params = {
        "summary": "Initech\nrenewal   discount",
        "description": "Approved by finance.",
        "labels": "sales",
    }
    await deliver(jira, params, issue_type="Bug")

    fields = jira.issues["SUP-1"].fields
    assert fields["summary"] == "Initech renewal discount"
    assert fields["issuetype"] == {"name": "Bug"}
    assert fields["labels"] == ["sales", marker_for(KEY)]
    assert adf_plain_text(fields["description"]).strip() == "Approved by finance."


async def test_comment_on_adds_one_comment_even_when_repeated(jira: JiraPeer) -> None:
    jira.add_issue("SUP", "Initech renewal")

    first = await deliver(jira, {"comment_on": "SUP-1"})
    again = await deliver(jira, {"comment_on": "SUP-1"})

    assert len(jira.comments) == 1
    comment = jira.comments[0]
    assert TEXT in adf_plain_text(comment["body"])
    assert marker_for(KEY) in adf_plain_text(comment["body"])
    assert first == again
    assert first.reference == "SUP-1"
    assert first.url == f"{jira.url}/browse/SUP-1?focusedCommentId={comment['id']}"
    assert first.summary == f"Commented on SUP-1 in Jira (comment {comment['id']})"
    assert list(jira.issues) == ["SUP-1"]


async def test_an_earlier_comment_is_found_past_the_first_page(jira: JiraPeer) -> None:
    issue = jira.add_issue("SUP", "Busy issue")
    await deliver(jira, {"comment_on": "SUP-1"})
    for n in range(150):
        issue.comments.append({"id": str(n), "body": adf_document(f"note {n}")})
    issue.comments.insert(150, issue.comments.pop(0))

    await deliver(jira, {"comment_on": "SUP-1"})

    assert len(issue.comments) == 151
    gets = [r for r in jira.requests if r == ("GET", "/rest/api/3/issue/SUP-1/comment")]
    assert len(gets) == 1 + 2


async def test_commenting_on_a_missing_issue_is_not_retryable(jira: JiraPeer) -> None:
    with pytest.raises(ConnectorConfigError) as caught:
        await deliver(jira, {"comment_on": "SUP-99"})
    assert caught.value.retryable is False
    assert "SUP-99" in caught.value.user_message


async def test_jira_validation_errors_are_shown_and_not_retryable(jira: JiraPeer) -> None:
    with pytest.raises(DownstreamError) as caught:
        await deliver(jira, title="   ")
    assert caught.value.retryable is False
    assert "summary: You must specify a summary of the issue" in caught.value.user_message
    assert jira.issues == {}

    with pytest.raises(DownstreamError) as caught:
        await deliver(jira, issue_type="Epic")
    assert caught.value.retryable is False
    assert "issuetype: Specify a valid issue type" in caught.value.user_message


async def test_a_wrong_token_is_not_retryable(jira: JiraPeer) -> None:
    with pytest.raises(DownstreamError) as caught:
        await deliver(jira, env={"JIRA_TOKEN": "expired"})
    assert caught.value.retryable is False
    assert "401" in caught.value.user_message
    assert jira.issues == {}


async def test_a_missing_token_is_a_clear_configuration_error(jira: JiraPeer) -> None:
    with pytest.raises(ConnectorConfigError) as caught:
        config(jira, env={})
    assert caught.value.retryable is False
    assert "JIRA_TOKEN" in caught.value.user_message
    assert jira.requests == []


@pytest.mark.parametrize("path", ["/rest/api/3/search/jql", "/rest/api/3/issue"])
async def test_a_server_error_is_retryable_and_the_retry_creates_one_issue(
    jira: JiraPeer, path: str
) -> None:
    jira.faults.status(503, method="POST", path=path)

    with pytest.raises(DownstreamUnavailable) as caught:
        await deliver(jira)
    assert "503" in caught.value.user_message

    await deliver(jira)
    assert list(jira.issues) == ["SUP-1"]


async def test_throttling_is_retryable_and_carries_retry_after(jira: JiraPeer) -> None:
    jira.faults.throttle("12")

    with pytest.raises(DownstreamUnavailable) as caught:
        await deliver(jira)
    assert caught.value.retry_after == 12.0
    assert jira.issues == {}


async def test_a_slow_reply_is_retryable_and_the_retry_finds_the_issue(jira: JiraPeer) -> None:
    jira.faults.slow(5.0, after=True, method="POST", path="/rest/api/3/issue")

    with pytest.raises(DownstreamUnavailable) as caught:
        await deliver(jira, timeout=0.3)
    assert "0.3s" in caught.value.user_message

    await deliver(jira)
    assert list(jira.issues) == ["SUP-1"]


async def test_a_reset_connection_is_retryable(jira: JiraPeer) -> None:
    jira.faults.reset()

    with pytest.raises(DownstreamUnavailable):
        await deliver(jira)
    assert jira.issues == {}


def test_plain_text_becomes_paragraphs_and_hard_breaks() -> None:
    doc = adf_document("One\ntwo\n\n\nThree", footer="ref")

    assert doc == {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "One"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "two"},
                ],
            },
            {"type": "paragraph", "content": [{"type": "text", "text": "Three"}]},
            {
                "type": "paragraph",
                "content": [{"type": "text", "text": "ref", "marks": [{"type": "em"}]}],
            },
        ],
    }
    assert adf_document("") == {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": []}],
    }
