"""`trellis about`: the JSON validates against the published schema, the HTML report is
written for the person asked for, and the audit chain is checked as the report is made."""

from __future__ import annotations

import json

import jsonschema
import pytest
from typer.testing import CliRunner

from app.cli.main import cli
from app.trust.about_report import SCHEMA_PATH
from tests.logging_state import restore_logging  # noqa: F401

pytestmark = pytest.mark.usefixtures("restore_logging")


def test_json_follows_the_published_schema_and_html_is_written_for_one_person(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("TRELLIS_DATABASE_URL", f"sqlite:///{tmp_path / 'trellis.db'}")
    runner = CliRunner()

    printed = runner.invoke(cli, ["about", "--schema"])
    assert printed.exit_code == 0, printed.output
    published = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert json.loads(printed.stdout) == published

    result = runner.invoke(cli, ["about", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    validator = jsonschema.Draft202012Validator(published)
    assert [e.message for e in validator.iter_errors(document)] == []
    assert document["reader"]["operator"] is True
    assert [a["key"] for a in document["answers"]] == [
        "access",
        "data",
        "actions",
        "approval",
        "logging",
        "mistakes",
        "support",
        "improving",
    ]
    audit = document["facts"]["audit"]
    assert audit["verified_ok"] is True and audit["verified_at"] is not None
    assert document["facts"]["documents"]["visible_to_nobody"] is not None

    report = tmp_path / "liam.html"
    result = runner.invoke(
        cli, ["about", "--as", "liam.carter@northwind.example", "--html", str(report)]
    )
    assert result.exit_code == 0, result.output
    html = report.read_text(encoding="utf-8")
    assert "For Liam Carter" in html and html.count("<svg") == 7
    assert "Salary Bands" not in html and "engineering" not in html
    assert "Visible to nobody" not in html


def test_a_person_not_in_the_directory_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("TRELLIS_DATABASE_URL", f"sqlite:///{tmp_path / 'trellis.db'}")
    result = CliRunner().invoke(cli, ["about", "--as", "nobody@elsewhere.example"])
    assert result.exit_code == 1
    assert "nobody@elsewhere.example is not in the workspace's directory" in result.output
