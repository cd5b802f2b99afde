"""Starting workflows: `/trellis WORKFLOW field=value …`, the message shortcut, the form.

With every required field on the command line the workflow starts at once; otherwise a
modal asks for the rest. The message shortcut opens the same form, with the message's
text in the first long-text field. The requester's status message is posted in their
direct messages with Trellis, the command itself acknowledged only to them (or where they
asked, for a workflow with `progress: channel` or a request about a message); its thread
is where they hear back: the decision, the result, or a failure.
"""

from __future__ import annotations

import asyncio
import json
import shlex
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.approvals.chain import WorkflowOutcome, WorkflowRequest, admit_workflow, start_workflow
from app.domain import WorkflowStatus
from app.rules.schema import Workflow
from app.services import Services
from app.slack_people import SlackChannel
from handlers import traces
from handlers.delivered import plain_text
from handlers.errors import message_for
from handlers.gateway import slack_of
from handlers.people import with_names
from handlers.submissions import save_submission
from handlers.views import cards, forms
from handlers.views.blocks import escape, notice_blocks, section

log = structlog.get_logger(__name__)

SHORTCUT = "trellis_start_workflow"
SHORTCUT_NAMING_SECONDS = 0.3
"""How long naming the people a shortcut's message mentions may take: its form must open
within the 3 s Slack's trigger lasts."""
QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})


def register(app: AsyncApp) -> None:
    app.shortcut(SHORTCUT)(on_shortcut)
    app.view(forms.CHOOSE_VIEW)(on_choice_submitted)
    app.view(forms.FORM_VIEW)(on_form_submitted)


def parse_fields(text: str) -> dict[str, str]:
    """`customer="Alpine Co." percent=15` -> {"customer": "Alpine Co.", "percent": "15"}."""
    try:
        tokens = shlex.split(text.translate(QUOTES))
    except ValueError as exc:
        raise ValueError(
            f"I could not read that ({exc}): put values with spaces in quotes, "
            'like customer="Alpine Co."'
        ) from None
    fields: dict[str, str] = {}
    for token in tokens:
        name, sep, value = token.partition("=")
        if not sep or not name.strip():
            raise ValueError(
                f'“{token}” is not field=value. Write it like reason="volume commitment".'
            )
        if name.strip() in fields:
            raise ValueError(f"{name.strip()} is given twice: give each field once.")
        fields[name.strip()] = value
    return fields


def usage(slug: str, workflow: Workflow) -> str:
    fields = " ".join(f"{name}=…" for name in workflow.inputs)
    return f"`/trellis {slug} {fields}` (or just `/trellis {slug}` for a form)"


def refused_values(
    workflow: Workflow, given: Mapping[str, str], problems: Mapping[str, str], missing: list[str]
) -> dict[str, str]:
    """{field: what was wrong} for each form field whose value on the command line was
    refused: the form opens with such a field empty (a number field cannot hold "abc"), and
    says under it which value was left out and why."""
    return {
        name: f"{problem} “{given[name][:100]}” was left out; enter it again."
        for name, problem in problems.items()
        if name in workflow.inputs and name in given and name not in missing
    }


BY_DM = " Trellis keeps you posted by direct message; nobody else here sees it."

ADMIT_WITHIN_SECONDS = 2.0
"""How long a slash command's ack waits for the request to be checked: Slack wants the ack
within 3 s, so a slower check (Slack itself slow to say who is asking) is acked first and
its outcome told after, through the command's response URL."""


async def on_workflow_command(
    ack: AsyncAck,
    command: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    services: Services,
    *,
    slug: str,
    rest: str,
) -> None:
    workflow = services.workspace.rulebook.workflow(slug)
    try:
        given = parse_fields(rest)
    except ValueError as exc:
        await ack(text=f"{exc}\nUsage: {usage(slug, workflow)}")
        return
    channel = SlackChannel(id=command["channel_id"], name=command.get("channel_name") or "")
    request = WorkflowRequest(slug, given, channel, slack_user_id=command["user_id"])
    admission = asyncio.ensure_future(admit_workflow(services, request))
    await asyncio.wait({admission}, timeout=ADMIT_WITHIN_SECONDS)
    late = not admission.done()
    if late:
        await ack(text=f"Checking your {_request_named(workflow.title)}…")

    async def tell(text: str) -> None:
        if late:
            await respond(text=text, response_type="ephemeral", replace_original=True)
        else:
            await ack(text=text)

    try:
        outcome = (await admission).outcome
    except Exception as exc:  # the person is always told
        await tell(message_for(exc))
        return
    missing = [
        n
        for n, spec in workflow.inputs.items()
        if spec.required and spec.default is None and not given.get(n, "").strip()
    ]
    if outcome is None:
        await tell(
            f"Starting {workflow.title}…{BY_DM if heard_privately(workflow, request) else ''}"
        )
        with traces.slash_command(command, slug):
            await begin(services, request)
    elif outcome.status == WorkflowStatus.INVALID and missing and not late:
        await ack()
        refused = refused_values(workflow, given, outcome.problems, missing)
        others = [refused.get(n, m) for n, m in outcome.problems.items() if n not in missing]
        await client.views_open(
            trigger_id=command["trigger_id"],
            view=forms.workflow_form(
                slug,
                workflow,
                values={n: v for n, v in given.items() if n not in refused},
                channel_id=channel.id,
                thread_ts=None,
                note=" ".join(others) or None,
                hints=refused,
            ),
        )
    elif outcome.status == WorkflowStatus.INVALID:
        # A form cannot open once the command's trigger has expired (3 s): the usage instead.
        await tell(f"{outcome.message}\nUsage: {usage(slug, workflow)}")
    else:
        await tell(outcome.message)


async def on_shortcut(
    ack: AsyncAck,
    shortcut: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    services: Services,
) -> None:
    await ack()
    message = shortcut.get("message") or {}
    channel_id = shortcut["channel"]["id"]
    thread_ts = message.get("thread_ts") or message.get("ts")
    try:
        person = await services.identity.resolve(shortcut["user"]["id"])
    except Exception as exc:
        await respond(text=message_for(exc), response_type="ephemeral")
        return
    rulebook = services.workspace.rulebook
    startable = rulebook.startable_by(person)
    if not startable:
        await respond(
            text="You cannot start any Trellis workflow. Ask an admin if you should.",
            response_type="ephemeral",
        )
        return
    text = await with_names(
        services,
        plain_text(message.get("text"), one_line=False),
        skip=slack_of(services).bot_user_id,
        seconds=SHORTCUT_NAMING_SECONDS,
    )
    if len(startable) == 1:
        slug = startable[0]
        view = forms.workflow_form(
            slug,
            rulebook.workflow(slug),
            channel_id=channel_id,
            thread_ts=thread_ts,
            values=_prefill(rulebook.workflow(slug), text),
        )
    else:
        view = forms.choose_modal(
            [(s, rulebook.workflow(s).title) for s in startable],
            channel_id=channel_id,
            thread_ts=thread_ts,
            text=text,
        )
    await client.views_open(trigger_id=shortcut["trigger_id"], view=view)


def _prefill(workflow: Workflow, text: str) -> dict[str, str]:
    for name, spec in workflow.inputs.items():
        if spec.type == "text" and text.strip():
            return {name: text.strip()}
    return {}


async def on_choice_submitted(ack: AsyncAck, view: dict[str, Any], services: Services) -> None:
    meta = json.loads(view.get("private_metadata") or "{}")
    slug = cards.input_value(view.get("state") or {}, forms.CHOICE_BLOCK, forms.CHOICE_INPUT)
    workflow = services.workspace.rulebook.workflows.get(slug)
    if workflow is None:
        await ack(response_action="errors", errors={forms.CHOICE_BLOCK: "Pick a workflow."})
        return
    await ack(
        response_action="update",
        view=forms.workflow_form(
            slug,
            workflow,
            values=_prefill(workflow, meta.get("text") or ""),
            channel_id=meta["channel_id"],
            thread_ts=meta.get("thread_ts"),
        ),
    )


async def on_form_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services
) -> None:
    meta = json.loads(view.get("private_metadata") or "{}")
    values = forms.form_values(view.get("state") or {})
    request = WorkflowRequest(
        meta["workflow"],
        values,
        SlackChannel(id=meta["channel_id"]),
        slack_user_id=body["user"]["id"],
        thread_ts=meta.get("thread_ts"),
    )
    workflow = services.workspace.rulebook.workflows.get(meta["workflow"])
    title = workflow.title if workflow else "request"

    async def admit() -> WorkflowOutcome | None:
        try:
            return (await admit_workflow(services, request)).outcome
        except Exception as exc:  # shown on the form, which stays open
            return WorkflowOutcome(WorkflowStatus.REFUSED, message_for(exc))

    submission = await save_submission(ack, body, services, admit(), what=f"your {title}")
    outcome = await submission.result()
    if outcome is not None:
        first = next(iter(workflow.inputs), None) if workflow else None
        errors = {
            name: message
            for name, message in outcome.problems.items()
            if workflow and name in workflow.inputs
        }
        if not errors and first:
            errors = {first: outcome.message}
        again = f" Start it again with {usage(meta['workflow'], workflow)}." if workflow else ""
        await submission.refused(errors, f"{outcome.message}{again}")
        return
    private = workflow is not None and heard_privately(workflow, request)
    await submission.saved(
        f"Your {title} is starting; "
        + (
            "Trellis keeps you posted by direct message."
            if private
            else "its status follows where you asked."
        )
    )
    with traces.interaction(body, meta["workflow"]):
        await begin(services, request)


def heard_privately(workflow: Workflow, request: WorkflowRequest) -> bool:
    """Whether the requester hears how their request goes (its status, the decision, the
    result) in their direct messages with Trellis rather than where they asked: a request
    by command is personal unless its workflow says `progress: channel`; a request about a
    message (the message shortcut) hears back in that message's thread."""
    return workflow.progress == "private" and request.thread_ts is None


async def begin(services: Services, request: WorkflowRequest) -> WorkflowOutcome | None:
    """Post the requester's status message, run the workflow, show how it went."""
    slack = slack_of(services)
    workflow = services.workspace.rulebook.workflow(request.workflow)
    title = workflow.title
    user = request.slack_user_id
    where, thread_ts = request.channel.id, request.thread_ts
    opening = f"{escape(title)} from <@{user}>. Drafting it…"
    try:
        if user is not None and heard_privately(workflow, request):
            where = await slack.open_dm(user)
        channel = await slack.channel(request.channel.id)  # the rules see where they asked
        ts = await slack.post(channel=where, thread_ts=thread_ts, text=opening)
    except SlackApiError:  # Trellis is not in that conversation: tell them directly
        if user is None:  # nobody to tell directly
            raise
        where, thread_ts = await slack.open_dm(user), None
        ts = await slack.post(channel=where, text=opening)
        channel = SlackChannel(id=where, is_im=True)
    request = replace(
        request,
        channel=channel,
        thread_ts=thread_ts or ts,
        heard_in=where if where != channel.id else None,
    )
    try:
        outcome = await start_workflow(services, request)
    except Exception as exc:  # the person is always told
        text = message_for(exc)
        await slack.update(channel=where, ts=ts, text=text, blocks=notice_blocks(text))
        return None
    text = f"{escape(title)} from <@{user}>. {escape(outcome.message)}"
    emoji = {
        WorkflowStatus.PENDING: ":hourglass_flowing_sand:",
        WorkflowStatus.APPROVED: ":white_check_mark:",
        WorkflowStatus.WAITING: ":hourglass_flowing_sand:",
    }.get(outcome.status, ":warning:")
    await slack.update(channel=where, ts=ts, text=text, blocks=[section(f"{emoji} {text}")])
    return outcome


def _request_named(title: str) -> str:
    """ "Discount request" as it is, "Refund" as "Refund request"."""
    return title if title.casefold().endswith("request") else f"{title} request"
