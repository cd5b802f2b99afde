"""Trellis in Slack's assistant view, the real Bolt app against the sandbox over real
sockets: the greeting and suggested prompts, the status line, the streamed answer with its
sources and feedback buttons, the viewed channel as audience, and the fallback to posting
the answer whole where Slack refuses to stream."""

from __future__ import annotations

from sqlalchemy import select

from app.db.models.records import PostedAnswer
from app.domain import AccessScope, AnswerStatus
from app.identity import access
from app.knowledge.search import get_documents
from app.pipeline import Question, answer_question
from tests.harness import RunningTrellis, blocks_text, running_trellis

SAM = "sam.ortiz@northwind.example"  # support agent
LIAM = "liam.carter@northwind.example"  # sales rep
QUESTION = "What apology code can I add to a delayed shipment reply?"
STREAM_FLOW = [
    "assistant.threads.setTitle",
    "assistant.threads.setStatus",
    "chat.startStream",
    "chat.appendStream",
    "chat.stopStream",
]


async def _prompts_for(trellis: RunningTrellis, email: str) -> list[dict[str, str]]:
    user = trellis.user(email)
    await trellis.sandbox.open_assistant(user)
    call = await trellis.sandbox.wait_for_call(
        "assistant.threads.setSuggestedPrompts",
        lambda c: c.params["channel_id"] == trellis.sandbox.workspace.open_im(user).id,
        timeout=10,
    )
    assert call.response["ok"], call.response
    return call.params["prompts"]


async def _ask_in_assistant(trellis: RunningTrellis, email: str, viewing: str | None = None):
    user = trellis.user(email)
    thread_ts = await trellis.sandbox.open_assistant(
        user, viewing=trellis.channel(viewing) if viewing else None
    )
    im = trellis.sandbox.workspace.open_im(user).id
    await trellis.sandbox.wait_for_message(
        im, lambda m: m.bot_id and m.is_reply and m.thread_ts == thread_ts
    )
    start = len(trellis.sandbox.workspace.calls)
    await trellis.sandbox.post_message(user, im, QUESTION, thread_ts=thread_ts)
    return im, thread_ts, start


async def test_opening_the_view_greets_and_suggests_documents_the_person_may_read(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        sams = await _prompts_for(trellis, SAM)
        liams = await _prompts_for(trellis, LIAM)
        person = await trellis.services.identity.resolve(trellis.user(SAM))
        readable = await get_documents(
            trellis.services.database, scope=AccessScope.for_person(person)
        )
        titles = {d.title for d in readable}
        assert 1 <= len(sams) <= 4
        assert all(any(t in p["message"] for t in titles) for p in sams)
        assert sams != liams  # chosen from each person's access and groups
        im = trellis.sandbox.workspace.open_im(trellis.user(SAM)).id
        greeting = next(m for m in trellis.sandbox.messages(im) if m.bot_id and m.is_reply)
        assert "what would you like to know" in greeting.text


async def test_a_question_streams_after_the_status_and_stops_with_sources_and_feedback(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        im, thread_ts, start = await _ask_in_assistant(trellis, SAM)
        stop = await trellis.sandbox.wait_for_call("chat.stopStream", timeout=15)
        flow = [c.method for c in trellis.sandbox.workspace.calls[start:]]
        relevant = [m for m in flow if m in STREAM_FLOW]
        assert relevant[:3] == STREAM_FLOW[:3]
        assert relevant[-1] == "chat.stopStream"
        assert set(relevant[3:-1]) <= {"chat.appendStream"}  # the whole text comes with the stop
        status = trellis.sandbox.calls_to("assistant.threads.setStatus")[0].params
        assert status["thread_ts"] == thread_ts and status["status"]
        title = trellis.sandbox.calls_to("assistant.threads.setTitle")[0].params
        assert title["title"] == QUESTION
        answer = trellis.sandbox.workspace.find_message(im, stop.params["ts"])
        assert answer is not None and not answer.streaming
        assert "[1]" in answer.text or "apolog" in answer.text.lower()
        blocks = answer.blocks or []
        assert "[1]" in blocks_text(blocks) and "Confidence:" in blocks_text(blocks)
        feedback = next(b for b in blocks if b["type"] == "context_actions")
        element = feedback["elements"][0]
        assert element["type"] == "feedback_buttons"
        assert not trellis.sandbox.calls_to("chat.update")  # streamed, not post-and-update

        await trellis.sandbox.click_button(
            trellis.user(SAM),
            im,
            answer.ts,
            element["action_id"],
            value=element["negative_button"]["value"],
        )
        thanks = await trellis.sandbox.wait_for_ephemeral(
            trellis.user(SAM), lambda e: "not helpful" in e.text, timeout=10
        )
        assert "recorded" in thanks.text
        async with trellis.services.database.session() as session:
            record = (await session.execute(select(PostedAnswer))).scalars().one()
        assert record.message_ts == answer.ts  # reactions on it find the answer


async def test_the_channel_being_viewed_is_the_audience_and_the_dm_keeps_the_answer(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        user = trellis.user(SAM)
        thread_ts = await trellis.sandbox.open_assistant(user)
        im = trellis.sandbox.workspace.open_im(user).id
        await trellis.sandbox.wait_for_message(
            im, lambda m: m.bot_id and m.is_reply and m.thread_ts == thread_ts
        )
        support = trellis.channel("support")
        await trellis.sandbox.view_channel(user, thread_ts, support)
        await trellis.sandbox.wait_for_call(
            "chat.update", lambda c: (c.params.get("metadata") or {}).get("event_payload")
        )
        await trellis.sandbox.post_message(user, im, QUESTION, thread_ts=thread_ts)
        await trellis.sandbox.wait_for_call("chat.stopStream", timeout=15)
        async with trellis.services.database.session() as session:
            record = (await session.execute(select(PostedAnswer))).scalars().one()
        # Answered for the members of #support, and kept where it was posted, so a reaction
        # on it or a follow-up in the thread finds it.
        assert record.channel_id == im
        audit = await trellis.services.audit.get(record.audit_id)
        assert audit is not None and audit.payload["channel"]["id"] == support


async def test_where_slack_refuses_to_stream_the_answer_is_posted_whole(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        trellis.sandbox.web_api.withdraw("chat.startStream")
        im, thread_ts, start = await _ask_in_assistant(trellis, SAM)
        answer = await trellis.sandbox.wait_for_message(
            im,
            lambda m: (
                m.bot_id
                and m.is_reply
                and m.thread_ts == thread_ts
                and "Confidence:" in blocks_text(m.blocks)
            ),
            timeout=15,
        )
        refused = trellis.sandbox.calls_to("chat.startStream")
        assert refused and refused[0].response == {"ok": False, "error": "unknown_method"}
        assert not trellis.sandbox.calls_to("chat.appendStream")
        assert not trellis.sandbox.calls_to("chat.stopStream")
        assert "[1]" in blocks_text(answer.blocks)
        assert any(b.get("block_id") == "trellis_feedback" for b in answer.blocks or [])


async def test_every_prompt_suggested_is_answered_from_the_document_it_names(tmp_path):
    async with running_trellis(tmp_path) as trellis:
        prompts = await _prompts_for(trellis, SAM)
        user = trellis.user(SAM)
        person = await trellis.services.identity.resolve(user)
        dm = await trellis.services.slack.channel(trellis.sandbox.workspace.open_im(user).id)
        for prompt in prompts:
            question = Question(
                text=prompt["message"], channel=dm, person=person, slack_user_id=user
            )
            outcome = await answer_question(trellis.services, question)
            assert outcome.status in (AnswerStatus.ANSWERED, AnswerStatus.NEEDS_APPROVAL), prompt
            if outcome.status == AnswerStatus.ANSWERED:
                assert outcome.public.text.startswith("The main points of "), prompt
                assert {c.title for c in outcome.public.citations} == {
                    prompt["message"].removeprefix("What are the main points of ").rstrip("?")
                }


PTO = "How many days of paid time off do full-time employees get per year?"


async def test_while_viewing_a_channel_the_prompts_and_the_wording_fit_its_members(tmp_path):
    # #general has a guest: the prompts name only documents everyone there may read, and
    # an answer only Sam may be shown says whose reading it is kept from, not "everyone in
    # this conversation" (his thread with Trellis has no one else in it).
    async with running_trellis(tmp_path) as trellis:
        sam, general = trellis.user(SAM), trellis.channel("general")
        own = [p["message"] for p in await _prompts_for(trellis, SAM)]
        person = await trellis.services.identity.resolve(sam)
        channel = await trellis.services.slack.channel(general)
        audience = await access.audience_for(
            asker=person,
            channel=channel,
            slack=trellis.services.slack,
            identity=trellis.services.identity,
        )
        everyones = await get_documents(trellis.services.database, scope=audience.scope)
        titles = {d.title for d in everyones}
        assert any(not any(t in p for t in titles) for p in own)  # Sam alone may read more

        thread_ts = await trellis.sandbox.open_assistant(sam, viewing=general)
        call = await trellis.sandbox.wait_for_call(
            "assistant.threads.setSuggestedPrompts",
            lambda c: c.params.get("thread_ts") == thread_ts,
            timeout=10,
        )
        viewing = [p["message"] for p in call.params["prompts"]]
        assert viewing and all(any(t in p for t in titles) for p in viewing), viewing

        im = trellis.sandbox.workspace.open_im(sam).id
        await trellis.sandbox.wait_for_message(
            im, lambda m: m.bot_id and m.is_reply and m.thread_ts == thread_ts
        )
        await trellis.sandbox.post_message(sam, im, PTO, thread_ts=thread_ts)

        def kept_from_general(message) -> bool:
            return message.bot_id is not None and "not everyone in #general" in (
                f"{message.text}\n{blocks_text(message.blocks)}"
            )

        said = await trellis.sandbox.wait_for_message(im, kept_from_general, 15)
        assert "this conversation" not in f"{said.text}\n{blocks_text(said.blocks)}"
