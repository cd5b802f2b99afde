"""In an Enterprise Grid organisation, a colleague whose home is a sibling workspace is
not an outsider, and a channel shared only among the organisation's workspaces is not
shared outside it; a Slack Connect user or channel still is (payloads as Slack's
users.info and conversations.info describe them)."""

from __future__ import annotations

from app.slack_people import channel_from_api, user_from_api

HOME, SIBLING, ORG = "T0HOME", "T0SIBLING", "E0NORTHWIND"


def user(team: str, enterprise: str | None) -> dict:
    data = {"id": "W012A3CDE", "team_id": team, "name": "ana", "profile": {"email": "a@x.test"}}
    if enterprise:
        data["enterprise_user"] = {"id": "W012A3CDE", "enterprise_id": enterprise, "teams": [team]}
    return data


def test_a_colleague_from_a_sibling_workspace_is_no_outsider():
    assert not user_from_api(user(HOME, ORG), home_team=HOME, home_enterprise=ORG).is_external
    assert not user_from_api(user(SIBLING, ORG), home_team=HOME, home_enterprise=ORG).is_external
    # Another organisation's member (Slack Connect), or any other team outside a Grid
    assert user_from_api(user(SIBLING, "E0OTHER"), home_team=HOME, home_enterprise=ORG).is_external
    assert user_from_api(user(SIBLING, None), home_team=HOME, home_enterprise=ORG).is_external
    assert user_from_api(user(SIBLING, ORG), home_team=HOME).is_external
    stranger = {**user(SIBLING, ORG), "is_stranger": True}
    assert user_from_api(stranger, home_team=HOME, home_enterprise=ORG).is_external


def test_only_a_channel_shared_with_another_organisation_is_shared():
    org_shared = {"id": "C1", "is_channel": True, "is_shared": True, "is_org_shared": True}
    connect = {"id": "C2", "is_channel": True, "is_shared": True, "is_ext_shared": True}
    both = {**org_shared, "is_ext_shared": True}
    pending = {"id": "C3", "is_channel": True, "is_pending_ext_shared": True}
    assert not channel_from_api(org_shared).is_shared
    assert all(channel_from_api(c).is_shared for c in (connect, both, pending))
    assert channel_from_api({"id": "C4", "is_shared": True}).is_shared  # kind unsaid: shared
