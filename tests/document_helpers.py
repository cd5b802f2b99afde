"""Knowledge files of one format, loaded alone or in a starter workspace from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.errors import WorkspaceError
from app.knowledge.loaders import LoadedDocument, load_document
from tests.cli.test_check_and_init import findings, trellis


def load(workspace: Path, relative: str, raw: bytes) -> LoadedDocument:
    """`raw` written to `knowledge/<relative>` under `workspace`, and loaded."""
    path = workspace / "knowledge" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    return load_document(path, knowledge_dir=workspace / "knowledge", workspace_root=workspace)


def load_error(workspace: Path, relative: str, raw: bytes) -> WorkspaceError:
    """The error loading `raw` as `knowledge/<relative>` raises (the test fails without one)."""
    with pytest.raises(WorkspaceError) as caught:
        load(workspace, relative, raw)
    return caught.value


def answer_with(tmp_path: Path, relative: str, raw: bytes, question: str) -> dict[str, Any]:
    """`trellis init`, `raw` dropped in as `knowledge/<relative>`, `trellis check` (no
    errors), then `trellis ask --json` as sam@example.com: the answer."""
    assert trellis(tmp_path, "init", str(tmp_path / "acme")).returncode == 0
    workspace = tmp_path / "acme"
    (workspace / "knowledge" / relative).write_bytes(raw)
    checked = trellis(tmp_path, "check", "--workspace", str(workspace))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert [f for f in findings(checked.stdout) if f[0] == "error"] == []
    asked = trellis(
        tmp_path,
        "ask", "--workspace", str(workspace), "--as", "sam@example.com", "--json", question,
    )  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    return json.loads(asked.stdout)
