"""Property: nothing outside the audience's access reaches the prompt, the answer or a citation.

For random directories, access lists, channel memberships and questions, the passages the
answerer is given, the text it answers with and the citations Trellis shows all come from
documents that every reader of the answer may see (checked against an independent oracle).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.answering.backends.extractive import ExtractiveAnswerer
from app.config.settings import Settings
from app.config.workspace import load_workspace
from app.db.migrate import upgrade
from app.db.session import Database
from app.domain import PUBLIC, ModelAnswer, Passage, Turn
from app.knowledge.ingest import ingest
from app.pipeline import Question, answer_question
from app.sandbox.company import SandboxDirectory
from app.services import build_services
from app.slack_people import SlackChannel

GROUPS = ["sales", "support", "finance", "legal"]
TOPICS = ["refund", "discount", "holiday", "invoice", "contract", "laptop"]


class RecordingAnswerer:
    """The real extractive answerer, remembering every passage it was given."""

    name = "extractive"

    def __init__(self) -> None:
        self.inner = ExtractiveAnswerer()
        self.seen: list[Passage] = []

    async def answer(
        self,
        *,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn] = (),
        instructions: str | None = None,
        model: str | None = None,
    ) -> ModelAnswer:
        self.seen.extend(passages)
        return await self.inner.answer(
            question=question,
            passages=passages,
            history=history,
            instructions=instructions,
            model=model,
        )


people_st = st.lists(st.sets(st.sampled_from(GROUPS), max_size=2), min_size=2, max_size=5)
access_st = st.sets(st.sampled_from([*GROUPS, "everyone", PUBLIC, "p0@acme.example"]), max_size=2)
docs_st = st.lists(st.tuples(access_st, st.sampled_from(TOPICS)), min_size=1, max_size=6)


def _write_workspace(
    root: Path,
    people: list[set[str]],
    docs: list[tuple[set[str], str]],
    members: list[int],
    guest_in_channel: bool,
) -> None:
    directory = {
        "people": [
            {"email": f"p{i}@acme.example", "name": f"Person {i}", "groups": sorted(groups)}
            for i, groups in enumerate(people)
        ]
    }
    (root / "directory.yml").write_text(yaml.safe_dump(directory))
    knowledge = root / "knowledge"
    knowledge.mkdir()
    for i, (access, topic) in enumerate(docs):
        front = {"id": f"doc{i}", "title": f"{topic.title()} notes {i}"}
        if access:
            front["access"] = sorted(access)
        body = (
            f"The {topic} policy says the secret code is zq{i}x for this {topic} case. "
            f"Every {topic} request follows the {topic} procedure number {i + 10}."
        )
        (knowledge / f"doc{i}.md").write_text(
            f"---\n{yaml.safe_dump(front)}---\n# {front['title']}\n\n{body}\n"
        )
    channel_members = [f"p{i}@acme.example" for i in sorted(set(members))]
    users = [{"name": "guest", "email": "guest@outside.example", "guest": True}]
    if guest_in_channel:
        channel_members.append("guest@outside.example")
    sandbox = {
        "users": users,
        "channels": [
            {"id": "C0ROOM", "name": "room", "members": channel_members or ["p0@acme.example"]}
        ],
    }
    (root / "sandbox.yml").write_text(yaml.safe_dump(sandbox))


def _oracle_allows(access: set[str], readers: list[frozenset[str]]) -> bool:
    return bool(access) and all(access & r for r in readers)


async def _check(
    root: Path, people, docs, members, guest_in_channel, asker: int, topic: str, in_channel: bool
) -> None:
    workspace = load_workspace(root)
    database = Database(f"sqlite+aiosqlite:///{root / 'trellis.db'}")
    try:
        await upgrade(database)
        await ingest(database, workspace.knowledge_dir, workspace_root=root)
        recorder = RecordingAnswerer()
        directory = SandboxDirectory.for_workspace(workspace)
        services = build_services(
            Settings(database_url=database.url),
            workspace,
            database,
            slack=directory,
            answerer=recorder,
        )
        person = workspace.directory.by_email(f"p{asker}@acme.example")
        channel = (
            await directory.channel("C0ROOM") if in_channel else SlackChannel(id="D0DM", is_im=True)
        )
        outcome = await answer_question(
            services,
            Question(
                text=f"What is the secret code for the {topic} case?",
                channel=channel,
                person=person,
            ),
        )

        event(f"public {outcome.public.status.value}, private {'yes' if outcome.private else 'no'}")
        asker_principals = person.principals
        readers = [asker_principals]
        if in_channel:
            for member in sorted(set(members)):
                readers.append(workspace.directory.by_email(f"p{member}@acme.example").principals)
            if guest_in_channel:
                readers.append(frozenset({PUBLIC}))
        access_of = {f"doc{i}": set(access) for i, (access, _) in enumerate(docs)}
        secrets_of = {f"doc{i}": f"zq{i}x" for i in range(len(docs))}

        private_docs = {c.doc_id for c in outcome.private.citations} if outcome.private else set()
        for passage in recorder.seen:
            assert _oracle_allows(access_of[passage.doc_id], [asker_principals]), passage.doc_id
        public_allowed = {d for d, a in access_of.items() if _oracle_allows(a, readers)}
        for citation in outcome.public.citations:
            assert citation.doc_id in public_allowed
        for doc_id, secret in secrets_of.items():
            if doc_id not in public_allowed:
                assert secret not in outcome.public.text
        for doc_id in private_docs:
            assert _oracle_allows(access_of[doc_id], [asker_principals])
    finally:
        await database.dispose()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people=people_st, docs=docs_st, data=st.data())
def test_nothing_outside_the_audience_scope_reaches_prompt_answer_or_citations(people, docs, data):
    members = data.draw(st.lists(st.integers(0, len(people) - 1), max_size=len(people)))
    asker = data.draw(st.integers(0, len(people) - 1))
    topic = data.draw(st.sampled_from([t for _, t in docs] + [TOPICS[0]]))
    in_channel = data.draw(st.booleans())
    guest_in_channel = data.draw(st.booleans())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write_workspace(root, people, docs, [*members, asker], guest_in_channel)
        asyncio.run(
            _check(
                root, people, docs, [*members, asker], guest_in_channel, asker, topic, in_channel
            )
        )
