"""Messages that name owners and approvers: people by their names, not their emails, with
the verb in the right number, and a channel (the workspace's fallback) never called a
document owner."""

from __future__ import annotations

from dataclasses import replace

from app.approvals.drafting import approvers_text
from app.config.directory import Directory
from app.domain import FlagStatus, Person
from app.notifications import FlagRaised, SourceUpdateAsked, UnansweredQuestions
from app.rules.requirements import ApprovalRequirement
from app.trust.feedback import FlagCase
from handlers.views import flags, owners

OMAR = Person(email="omar@brightline.example", name="Omar Haddad")
NORA = Person(email="nora@brightline.example", name="Nora Ruiz")
DIRECTORY = Directory([OMAR, NORA])


def case(*owners: str) -> FlagCase:
    return FlagCase(
        id="f1", status="open", answer_id="a1", audit_id="x1", question="Q?", answer="A.",
        citations=(), channel_id="C1", thread_ts=None, message_ts=None,
        flagger_email="lily@brightline.example", flagger_name="Lily", flagger_slack_id=None,
        correction=None, wrong_source=None, owners=owners, doc_ids=(), notices=(),
        decided_by=None,
    )  # fmt: skip


def test_one_owner_told_of_a_flag_is_named_and_has_been_told():
    text, _ = flags.flagger_prompt(case(OMAR.email), names=DIRECTORY.name_of)
    assert "your flag is recorded and Omar Haddad has been told." in text
    assert OMAR.email not in text


def test_several_owners_told_of_a_flag_have_been_told():
    text, _ = flags.flagger_prompt(case(OMAR.email, NORA.email), names=DIRECTORY.name_of)
    assert "Omar Haddad and Nora Ruiz have been told." in text


def test_a_request_waiting_for_approval_names_the_approver():
    needs = ApprovalRequirement(workflow="refund", approvers=(NORA.email,))
    assert approvers_text(needs, DIRECTORY.name_of) == "Nora Ruiz"


def test_questions_no_document_owner_covers_are_not_said_to_be_owned_by_a_channel():
    text, blocks = owners.notice(
        UnansweredQuestions(questions=("Dog?",), owners=("#help",), count=1)
    )
    shown = str(blocks)
    assert "owned by #help" not in shown
    assert "no document's owner covers the topic" in shown


def test_a_flag_sent_back_for_a_source_update_names_the_owners_asked():
    decided = replace(
        case(OMAR.email, "support-leads"), status=FlagStatus.SOURCE_UPDATE, decided_by="Nora Ruiz"
    )
    _, blocks = flags.owner_notice(decided, DIRECTORY.name_of)
    shown = str(blocks)
    assert "Nora Ruiz asked Omar Haddad and support-leads to update the source" in shown
    assert OMAR.email not in shown


def test_the_flagger_hears_the_owners_asked_for_a_source_update_by_name():
    told = flags.source_update_asked(
        case(OMAR.email, NORA.email), asked_by="Nora Ruiz", names=DIRECTORY.name_of
    )
    assert told == (
        "Nora Ruiz asked the document's owners (Omar Haddad and Nora Ruiz) to update the source."
    )


def test_a_channel_told_of_a_flag_it_may_not_read_hears_its_owners_by_name():
    said = owners.pointer(FlagRaised(case(OMAR.email)), DIRECTORY.name_of)
    assert "citing documents owned by Omar Haddad is open" in said
    assert OMAR.email not in said
    # A channel is pointed at a flag only when nobody who may read its documents could be
    # told (app/trust/owners.py): it says so, and does not claim the owners were told.
    assert "Nobody who may read those documents could be told" in said
    assert "were told" not in said


def test_an_owner_outside_the_directory_is_shown_as_written():
    said = owners.pointer(FlagRaised(case("stranger@elsewhere.example")), DIRECTORY.name_of)
    assert "owned by stranger@elsewhere.example is open" in said


def test_a_source_update_for_a_document_nobody_owns_names_it_where_it_may_be_read():
    unowned = replace(
        case(), doc_ids=("refunds",), citations=({"doc_id": "refunds", "title": "Refund policy"},)
    )
    _, blocks = owners.notice(SourceUpdateAsked(unowned, asked_by="Nora Ruiz"))
    head = str(blocks[0])
    assert "Refund policy has no owner" in head and "`owner:`" in head
    assert "asks you to update" not in head
    said = owners.pointer(SourceUpdateAsked(unowned, asked_by="Nora Ruiz", admins=("Omar Haddad",)))
    # Pointed at only when nobody who may read it could be told: what would let someone act.
    assert said == (
        "A document with no owner needs an update after a flag, and nobody who may read it "
        "could be told: give it an owner on Slack, or let a Trellis admin (Omar Haddad) read it."
    )
