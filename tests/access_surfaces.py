"""Asking Trellis on each of its surfaces as people in the sandbox do, for the randomized
access check (tests/e2e/test_randomized_access.py).

Every method acts as one person over the sandbox's real sockets (a message, a slash
command, a click, a reaction, a modal, the Home tab) and waits for what Trellis shows in
return; `SandboxObserver` checks all of it, under the surface named in `observer.surface`.
`batch` asks through the question chain directly and checks what would be posted.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import select

from app.db.models.feedback import Flag
from app.domain import AnswerStatus
from app.errors import AccessDenied
from app.pipeline import Question, answer_question
from app.slack_people import SlackChannel
from app.trust import owners, stories
from handlers.views import answers, flags
from handlers.views.cards import APPROVE, DECISION_BLOCK
from handlers.views.story import story_blocks
from tests.access_oracle import Doc, LeakCheck, QuestionMaker, SandboxObserver, Shown, strings_in
from tests.harness import RunningTrellis

WHY = answers.WHY
CUSTOMERS = ("Alpine Co.", "Summit Sports", "Trailhead Outfitters")
CURATED = "Curated answer approved by"
CONCURRENCY = 4
"""Questions through the chain at once: the database works while the answerer does."""


@dataclass(frozen=True)
class Asked:
    """An answer shown on a surface, and the question it answers."""

    shown: Shown
    question: str
    asker: str
    """The asker's Slack user id."""


class Surfaces:
    def __init__(
        self,
        trellis: RunningTrellis,
        check: LeakCheck,
        observer: SandboxObserver,
        rng: random.Random,
    ) -> None:
        self.trellis = trellis
        self.sandbox = trellis.sandbox
        self.services = trellis.services
        self.check = check
        self.observer = observer
        self.rng = rng
        self.questions = QuestionMaker(check, rng)
        self.asked: Counter[str] = Counter()
        """Questions asked, by surface."""
        self.source_hidden: Counter[str] = Counter()
        """Questions drawn from a document the asker may not read, by surface."""
        self.outcomes: Counter[str] = Counter()
        self.events: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        """Processor time spent, by step."""
        self.last_doc: Doc | None = None
        state = self.sandbox.workspace
        self.channels = sorted(c.id for c in state.conversations.values() if not c.is_im)
        self.people = sorted(
            u.id for u in state.users.values() if not u.is_bot and u.email in check.catalog.people
        )
        self.outsiders = sorted(
            u.id
            for u in state.users.values()
            if not u.is_bot and not u.deleted and u.email not in check.catalog.people
        )

    @contextmanager
    def timed(self, step: str) -> Iterator[None]:
        started = time.process_time()
        try:
            yield
        finally:
            self.seconds[step] += time.process_time() - started

    # -- who -----------------------------------------------------------------------------

    def email(self, user: str) -> str:
        return self.observer.reader(user)[0]

    def principals(self, user: str) -> frozenset[str]:
        return self.observer.reader(user)[1]

    def members(self, channel: str) -> list[str]:
        conversation = self.sandbox.workspace.conversation(channel)
        bot = self.sandbox.workspace.bot.user_id
        return [m for m in conversation.members if m != bot] if conversation else []

    def channels_of(self, user: str) -> list[str]:
        return [c for c in self.channels if user in self.members(c)]

    def someone(self, outsiders: float = 0.05) -> str:
        if self.outsiders and self.rng.random() < outsiders:
            return self.rng.choice(self.outsiders)
        return self.rng.choice(self.people)

    def draw(self, surface: str, user: str, doc: Doc | None = None) -> str:
        """A question for `user`: half the time from a document they may read (so what is
        restricted reaches answers), otherwise from any document."""
        self.observer.surface = surface
        if doc is None and self.rng.random() < 0.5:
            mine = [d for d in self.questions.docs if d.readable_by(self.principals(user))]
            doc = self.rng.choice(mine) if mine else None
        doc, text = self.questions.draw(doc)
        self.last_doc = doc
        self.asked[surface] += 1
        self.source_hidden[surface] += not doc.readable_by(self.principals(user))
        return text

    # -- asking ----------------------------------------------------------------------------

    def _answer_in(self, channel: str, thread_ts: str):
        return lambda s: (
            s.kind == "message" and s.channel == channel and s.thread_ts == thread_ts and s.final
        )

    async def dm(self, user: str, text: str) -> Asked:
        since = self.observer.mark()
        ts = await self.sandbox.post_message(user, self.trellis.bot, text)
        im = self.sandbox.workspace.open_im(user).id
        shown = await self.observer.wait(since, self._answer_in(im, ts), what="a DM answer")
        return Asked(shown, text, user)

    async def mention(self, user: str, channel: str, text: str) -> Asked:
        since = self.observer.mark()
        ts = await self.sandbox.post_message(user, channel, f"<@{self.trellis.bot}> {text}")
        shown = await self.observer.wait(since, self._answer_in(channel, ts), what="an answer")
        return Asked(shown, text, user)

    async def follow_up(self, user: str, asked: Asked, text: str) -> Asked:
        channel, thread = asked.shown.channel or "", asked.shown.thread_ts or ""
        since = self.observer.mark()
        await self.sandbox.post_message(user, channel, text, thread_ts=thread)
        shown = await self.observer.wait(since, self._answer_in(channel, thread), what="follow-up")
        return Asked(shown, text, user)

    async def slash(self, user: str, channel: str, text: str) -> Asked:
        since = self.observer.mark()
        await self.sandbox.slash_command(user, channel, "/trellis", f"ask {text}")
        shown = await self.observer.wait(
            since,
            lambda s: s.kind == "ephemeral" and s.users == (user,) and s.final,
            what="a /trellis ask answer",
        )
        return Asked(shown, text, user)

    async def why(self, user: str, asked: Asked) -> Shown | None:
        shown = asked.shown
        if not shown.has_button(WHY) or shown.channel is None or shown.ts is None:
            return None
        since = self.observer.mark()
        await self.sandbox.click_button(user, shown.channel, shown.ts, WHY)
        return await self.observer.wait(
            since,
            lambda s: s.users == (user,) and s.kind in ("view", "ephemeral"),
            what="the story of an answer",
        )

    async def home(self, user: str) -> Shown:
        since = self.observer.mark()
        await self.sandbox.open_home(user)
        return await self.observer.wait(
            since, lambda s: s.kind == "home" and s.users == (user,), what="App Home"
        )

    # -- flags and curated answers -------------------------------------------------------

    async def flag(self, asked: Asked) -> str | None:
        """A flagger among the readers reacts; they say what's wrong; an owner decides."""
        shown = asked.shown
        config = self.services.workspace.config.flags
        allowed = set(config.flaggers)
        flaggers = [u for u in shown.users if self.principals(u) & allowed]
        if _stands_for_askers_answer(shown):
            flaggers = [u for u in flaggers if u == asked.asker]
        if shown.kind != "message" or not flaggers or not shown.has_button(WHY):
            return None
        flagger = self.rng.choice(flaggers)
        since = self.observer.mark()
        await self.sandbox.add_reaction(
            flagger, shown.channel or "", shown.ts or "", self.rng.choice(config.reactions)
        )
        prompt = await self.observer.wait(
            since,
            lambda s: s.users == (flagger,) and s.has_button(flags.EXPLAIN),
            what="the flagger's prompt",
        )
        self.events["flags raised"] += 1
        flag_id = next(
            e["value"]
            for b in prompt.payload
            for e in b.get("elements") or []
            if e.get("action_id") == flags.EXPLAIN
        )
        if self.rng.random() < 0.7:
            await self._explain(flagger, shown.channel or "", prompt)
        await self._decide(flag_id, flagger, since, asked)
        return flag_id

    async def _explain(self, flagger: str, channel: str, prompt: Shown) -> None:
        since = self.observer.mark()
        await self.sandbox.click_button(flagger, channel, prompt.ts or "", flags.EXPLAIN)
        note = await self.observer.wait(
            since, lambda s: s.kind == "view" and s.users == (flagger,), what="the flag note"
        )
        values: dict = {"correction": {"text": self.questions.draw()[1]}}
        options = _options(note.payload, "source")
        if options and self.rng.random() < 0.5:
            values["source"] = {"doc": self.rng.choice(options)}
        ack = await self.sandbox.submit_view(flagger, note.ts or "", values)
        self._check_ack(flagger, ack)
        self.events["flags explained"] += 1

    def _check_ack(self, user: str, ack: dict) -> None:
        """What a modal's submitter is shown when Trellis refuses the form."""
        self.check.check(
            surface=self.observer.surface,
            readers=[self.observer.reader(user)],
            shown=list(strings_in(ack.get("errors") or {})),
        )

    async def _decide(self, flag_id: str, flagger: str, since: int, asked: Asked) -> None:
        async with self.services.database.session() as session:
            flag = (await session.execute(select(Flag).where(Flag.id == flag_id))).scalar_one()
        deciders = set(flag.owners or ()) | set(self.services.workspace.config.admins)
        latest: dict[tuple[str, str], Shown] = {}
        for s in self.observer.shown[since:]:
            if s.kind == "message" and s.channel and s.ts:
                latest[(s.channel, s.ts)] = s
        choices = [
            (notice, user)
            for notice in latest.values()
            if notice.has_button(flags.ACCEPT, flag_id)
            for user in notice.users
            if user != flagger and self.principals(user) & deciders
        ]
        if not choices:
            self.events["flags nobody could decide"] += 1
            return
        notice, owner = self.rng.choice(choices)
        verdict = self.rng.choices(
            [flags.ACCEPT, flags.DISMISS, flags.UPDATE_SOURCE], weights=[6, 2, 2]
        )[0]
        since = self.observer.mark()
        await self.sandbox.click_button(owner, notice.channel or "", notice.ts or "", verdict)
        if verdict != flags.ACCEPT:
            await self.observer.wait(
                since, lambda s: s.users == (flagger,), what="the flagger told of the decision"
            )
            self.events["flags dismissed or sent to the source"] += 1
            return
        form = await self.observer.wait(
            since, lambda s: s.kind == "view" and s.users == (owner,), what="the correction form"
        )
        await self._correct(owner, form, flagger, asked)

    async def _correct(self, owner: str, form: Shown, flagger: str, asked: Asked) -> None:
        """The owner's corrected answer: sentences of a cited document, or of another one
        they may read, named as a source or not, sometimes mixed with a third."""
        cited = _options(form.payload, "sources")
        readable = [
            d for d in self.questions.docs if d.readable_by(self.principals(owner)) and d.passages
        ]
        mine = [d for d in readable if d.id in cited]
        source = self.rng.choice(mine if mine and self.rng.random() < 0.5 else readable)
        lines = source.sentences()
        start = self.rng.randrange(len(lines))
        text = " ".join(lines[start : start + self.rng.randint(1, 2)])
        extra = []
        if self.rng.random() < 0.25:
            mixed = self.rng.choice(readable)
            text += " " + self.rng.choice(mixed.sentences() or [mixed.title])
        chosen = self.rng.sample(cited, self.rng.randint(1, len(cited))) if cited else []
        if source.id not in chosen and self.rng.random() < 0.7:
            extra.append(source.id)
        values: dict = {"answer": {"text": text}, "extra": {"ids": ", ".join(extra)}}
        if chosen:
            values["sources"] = {"docs": chosen}
        since = self.observer.mark()
        ack = await self.sandbox.submit_view(owner, form.ts or "", values)
        self._check_ack(owner, ack)
        if ack.get("response_action") == "errors":
            self.events["corrections refused"] += 1
            await self.sandbox.close_view(owner, form.ts or "")
            return
        self.events["corrections accepted"] += 1
        await self.observer.wait(since, lambda s: s.users == (flagger,), what="flagger told")
        for _ in range(3):  # the corrected question, asked again elsewhere
            user = self.someone()
            self.observer.surface = "curated"
            self.asked["curated"] += 1
            if self.rng.random() < 0.4:
                channels = self.channels_of(user)
                again = await self.mention(user, self.rng.choice(channels), asked.question)
                self.events["curated answers given"] += CURATED in " ".join(again.shown.strings)
            else:
                await self.ask_chain(self.plan_chain(user, asked.question, "curated"))

    # -- reviews and workflows -------------------------------------------------------------

    async def approve_held_answers(self, since: int) -> None:
        """A reviewer approves answer cards held for review; the answer is then posted."""
        cards = {
            (s.channel, s.ts): s
            for s in self.observer.shown[since:]
            if s.kind == "message" and any(b.get("block_id") == DECISION_BLOCK for b in s.payload)
        }
        reviewing = set(self.services.workspace.rulebook.rules.answers.reviewers)
        for card in cards.values():
            if "answers.review_when" not in " ".join(card.strings) or self.rng.random() < 0.3:
                continue
            reviewers = [u for u in card.users if self.principals(u) & reviewing]
            if not reviewers or not card.has_button(APPROVE):
                continue
            self.observer.surface = "held answer"
            mark, reviewer = self.observer.mark(), reviewers[0]
            await self.sandbox.click_button(reviewer, card.channel or "", card.ts or "", APPROVE)
            posted = await self.observer.wait(
                mark,
                lambda s, reviewer=reviewer: (
                    "Checked by" in " ".join(s.strings)
                    or (s.kind == "ephemeral" and s.users == (reviewer,))
                ),
                what="the approved answer, or why it was not",
            )
            approved = "Checked by" in " ".join(posted.strings)
            self.events["held answers approved" if approved else "held answers refused"] += 1

    async def workflow(self) -> None:
        """A customer reply or a discount request whose free text is a drawn question."""
        rulebook = self.services.workspace.rulebook
        slug = self.rng.choice(sorted(rulebook.workflows))
        started_by = set(rulebook.workflows[slug].started_by)
        starters = [u for u in self.people if self.principals(u) & started_by]
        user = self.rng.choice(starters if self.rng.random() < 0.9 else self.people)
        text = self.draw("approval card", user)
        customer = self.rng.choice(CUSTOMERS)
        if slug == "customer_reply":
            command = (
                f'customer_reply customer="{customer}" contact=buyer@example.com '
                f'ticket=SUP-{self.rng.randint(100, 999)} question="{text}"'
            )
        else:
            percent = self.rng.randint(11, 40)
            command = f'discount_request customer="{customer}" percent={percent} reason="{text}"'
        channel = self.rng.choice(self.channels_of(user))
        since = self.observer.mark()
        ack = await self.sandbox.slash_command(user, channel, "/trellis", command)
        if not str(ack.get("text") or "").startswith("Starting"):
            self.events["workflow requests refused"] += 1
            return
        dm = self.sandbox.workspace.open_im(user).id  # a request's status is its requester's
        await self.observer.wait(
            since,
            lambda s: s.channel == dm and " from <@" in s.text and "Drafting" not in s.text,
            what="the request's status",
        )
        self.events["workflow requests"] += 1

    # -- straight through the chain ------------------------------------------------------

    def plan_chain(self, user: str, text: str, surface: str) -> ChainQuestion:
        """Where and how a question goes through the chain, drawn before it is asked."""
        channels = self.channels_of(user)
        where = self.rng.choice(["dm", "channel", "private"]) if channels else "dm"
        channel = self.rng.choice(channels) if where != "dm" else None
        readers = self.members(channel) if where == "channel" and channel else [user]
        viewer = self.rng.choice(readers) if self.rng.random() < 0.3 else None
        return ChainQuestion(
            user,
            text,
            f"{surface} ({where})",
            channel,
            where == "private",
            readers,
            viewer,
            self.rng.random() < 0.2,
        )

    async def ask_chain(self, planned: ChainQuestion) -> None:
        """Ask through the question chain; check the answers as Slack would show them, and
        the story a reader would get from "Why this answer?"."""
        user = planned.user
        if planned.channel is None:
            channel = SlackChannel(id=self.sandbox.workspace.open_im(user).id, is_im=True)
        else:
            channel = await self.services.slack.channel(planned.channel)
        outcome = await answer_question(
            self.services,
            Question(
                text=planned.text, channel=channel, slack_user_id=user, private=planned.private
            ),
        )
        self.outcomes[outcome.status.value] += 1
        if any(CURATED in note for note in outcome.public.notes):
            self.events["curated answers given"] += 1
        for reply, seen_by in ((outcome.public, planned.readers), (outcome.private, [user])):
            if reply is not None:
                self.check.check(
                    surface=planned.surface,
                    readers=[self.observer.reader(u) for u in seen_by],
                    shown=[answers.answer_text(reply), *strings_in(answers.answer_blocks(reply))],
                )
        viewer = planned.viewer
        person = self.services.workspace.directory.by_email(self.email(viewer or ""))
        if person is not None and outcome.public.answer_id:
            try:
                story = await stories.for_viewer(
                    self.services.database,
                    answer_id=outcome.public.answer_id,
                    viewer=person,
                    directory=self.services.workspace.directory,
                )
            except AccessDenied:  # only the asker may see a private answer's story
                story = None
            if story is not None and viewer is not None:
                self.check.check(
                    surface=planned.surface.split(" (")[0] + " (why)",
                    readers=[self.observer.reader(viewer)],
                    shown=list(strings_in(story_blocks(story))),
                )
        if outcome.status != AnswerStatus.ANSWERED or planned.tell_owners:
            await owners.after_question(self.services, outcome=outcome, question=planned.text)

    async def batch(self, count: int, surface: str = "chain") -> None:
        """`count` questions through the chain, a few at a time."""
        planned = []
        for _ in range(count):
            user = self.someone()
            planned.append(self.plan_chain(user, self.draw(surface, user), surface))
        self.observer.surface = surface
        for start in range(0, len(planned), CONCURRENCY):
            await asyncio.gather(*(self.ask_chain(p) for p in planned[start : start + CONCURRENCY]))


@dataclass(frozen=True)
class ChainQuestion:
    user: str
    text: str
    surface: str
    channel: str | None
    """None: the asker's direct message with Trellis."""
    private: bool
    readers: list[str]
    viewer: str | None
    """Who opens the answer's story, if anyone."""
    tell_owners: bool


def _options(payload: dict, block_id: str) -> list[str]:
    for block in payload.get("blocks") or []:
        if block.get("block_id") == block_id:
            element = block.get("element") or {}
            return [o["value"] for o in element.get("options") or []]
    return []


def _stands_for_askers_answer(shown: Shown) -> bool:
    """A reply nobody could answer that offers no "Don't forward" button: its asker was
    answered privately (compose.for_asker_only), and only they may flag it."""
    return (
        shown.kind == "message"
        and any("couldn't find a well-supported answer" in s for s in shown.strings)
        and not shown.has_button(answers.DONT_FORWARD)
    )
