"""A question nobody could answer goes to a document's owners only when that document is
clearly about it: documents merely near it in meaning, or sharing a word with it, do not
make their owners its recipients (the demo workspace, its real index, the real pipeline)."""

from __future__ import annotations

import pytest

from app.answering.backends.extractive import ExtractiveAnswerer
from app.config.settings import Settings
from app.config.workspace import default_workspace_path, load_workspace
from app.db.session import Database
from app.domain import AnswerStatus
from app.knowledge.ingest import ingest
from app.pipeline import Outcome, Question, answer_question
from app.sandbox.company import SandboxDirectory
from app.services import Services, build_services
from app.slack_people import SlackChannel

SAM = "sam.ortiz@northwind.example"  # support: may read the company and support documents
DM = SlackChannel(id="D0TEST", name="", is_im=True)
NEAR_BUT_NOT_ABOUT = (
    "Where can I park my car at the office?",  # near the holiday list and the handbook
    "Can I bring my dog to the office?",
    "What is the salary band for a support engineer?",  # near the handbook and leave policies
)
ABOUT_BUT_UNANSWERED = "What is the parental leave policy in Brazil?"  # hr-parental-leave


async def services_for(database: Database) -> Services:
    workspace = load_workspace(default_workspace_path())
    await ingest(database, workspace.knowledge_dir, workspace_root=workspace.root)
    return build_services(
        Settings(database_url=database.url, workspace=workspace.root),
        workspace,
        database,
        slack=SandboxDirectory.for_workspace(workspace),
        answerer=ExtractiveAnswerer(),
    )


async def asked(services: Services, text: str) -> Outcome:
    person = services.workspace.directory.by_email(SAM)
    assert person is not None
    outcome = await answer_question(
        services, Question(text=text, channel=DM, person=person, slack_user_id=person.slack_id)
    )
    assert outcome.status == AnswerStatus.NO_ANSWER, text
    return outcome


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_a_question_near_documents_but_not_about_them_goes_to_the_support_contact(database):
    services = await services_for(database)
    support = services.workspace.config.default_owners
    assert support == ("#help-trellis",)
    for text in NEAR_BUT_NOT_ABOUT:
        outcome = await asked(services, text)
        assert outcome.public.owners == support, text
        said = outcome.public.text
        assert "own this topic" not in said and "You can also ask in #help-trellis." in said
        assert "pass your question on to the document owners in #trellis-owners" in said


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_a_question_about_a_document_goes_to_its_owners_named_as_people(database):
    services = await services_for(database)
    outcome = await asked(services, ABOUT_BUT_UNANSWERED)
    assert outcome.public.owners == ("people-ops",)
    assert "The people who own this topic are: Grace Adeyemi (people-ops)." in outcome.public.text
    assert "pass your question on to them as you wrote it" in outcome.public.text


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_a_reply_that_does_not_answer_names_the_closest_page_only_when_it_is_about_it(
    database,
):
    services = await services_for(database)
    outcome = await asked(services, ABOUT_BUT_UNANSWERED)
    assert outcome.public.nearest is not None
    assert outcome.public.nearest.startswith("Parental Leave")
    # Shown under the reply, not in its text: a flag's or the owners' notice shows the
    # text to people who may not read that page.
    assert "Parental Leave" not in outcome.public.text
    for text in NEAR_BUT_NOT_ABOUT:  # a page merely near the question is not pointed to
        outcome = await asked(services, text)
        assert outcome.public.nearest is None


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_the_closest_page_is_never_one_the_asker_may_not_read(database):
    services = await services_for(database)
    # The salary bands are for People Operations and leadership; Sam is in support.
    outcome = await asked(services, "What is the salary band for a level 3 support engineer?")
    assert "Salary Bands" not in (outcome.public.nearest or "")
