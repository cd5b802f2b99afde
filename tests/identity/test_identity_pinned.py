"""A directory `slack_id` pins a person to one Slack account: the email match never overrides it."""

from __future__ import annotations

import pytest

from app.config.directory import Directory
from app.domain import Person
from app.errors import IdentityUnknown
from app.identity.resolver import IdentityResolver
from app.sandbox.company import SandboxDirectory
from app.sandbox.state import SandboxWorkspace

BO = Person(email="bo@acme.example", name="Bo", slack_id="U0BOSPECIAL", groups=frozenset({"sales"}))


async def test_another_slack_account_with_a_pinned_persons_email_is_not_that_person():
    slack = SandboxDirectory(
        SandboxWorkspace.from_seed(
            {
                "team": {"id": "T0ACME"},
                "users": [
                    {"id": "U0BOSPECIAL", "name": "bo", "email": "bo.personal@mail.example"},
                    {"id": "U0OTHER", "name": "other", "email": "bo@acme.example"},
                ],
                "channels": [],
            }
        )
    )
    resolver = IdentityResolver(Directory([BO]), slack, admins_hint="#help")
    assert (await resolver.resolve("U0BOSPECIAL")).email == "bo@acme.example"
    with pytest.raises(IdentityUnknown):
        await resolver.resolve("U0OTHER")
    assert (await resolver.identify("U0OTHER")).reason == "not_in_directory"
