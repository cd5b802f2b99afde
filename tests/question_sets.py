"""Question sets for held-out corpora: loading them and judging a `trellis ask --json` result.

A question set is a YAML file with a `cases:` list. Each case has the golden-set keys (id,
question, asker, channel, expect_status, expect_sources) and may add:

    kind                  answerable | restricted | unanswerable | mixed
    expect_text           facts the answer must contain
    never_text            facts that must not appear anywhere in the output
    expect_public_status  the channel reply's own status, when the asker may see more
                          than the channel and gets the fuller answer privately
    known_gap             why the offline answerer is known to get this case wrong
    after                 the question the same asker asked first in the same thread: the
                          case is a follow-up, asked once that question was answered

Used by tests/answering/test_held_out_corpora.py and bench/answer_quality.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKSPACES = ROOT / "tests" / "data" / "workspaces"
REAL_CORPORA = ROOT / "bench" / "corpora"
"""Real public documents nobody on the team wrote, with question sets written blind."""
DEMO = ROOT / "app" / "demo" / "workspace"


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    asker: str
    expect_status: str
    kind: str = "answerable"
    channel: str | None = None
    expect_sources: tuple[str, ...] = ()
    expect_text: tuple[str, ...] = ()
    never_text: tuple[str, ...] = ()
    expect_public_status: str | None = None
    known_gap: str | None = None
    after: str | None = None


@dataclass(frozen=True)
class Corpus:
    name: str
    workspace: Path
    cases: tuple[Case, ...]


def load_cases(path: Path) -> tuple[Case, ...]:
    """The cases of a question file (a questions.yml or a golden evals/*.yml)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    cases = []
    for raw in data.get("cases", []):
        status = raw["expect_status"]
        cases.append(
            Case(
                id=raw["id"],
                question=raw["question"],
                asker=raw["asker"].lower(),
                expect_status=status,
                kind=raw.get("kind") or ("answerable" if status == "answered" else status),
                channel=raw.get("channel"),
                expect_sources=tuple(raw.get("expect_sources") or ()),
                expect_text=tuple(raw.get("expect_text") or ()),
                never_text=tuple(raw.get("never_text") or ()),
                expect_public_status=raw.get("expect_public_status"),
                known_gap=raw.get("known_gap"),
                after=raw.get("after"),
            )
        )
    return tuple(cases)


def held_out_corpora() -> list[Corpus]:
    """Every workspace under tests/data/workspaces/ that has a questions.yml."""
    return [
        Corpus(path.parent.name, path.parent, load_cases(path))
        for path in sorted(WORKSPACES.glob("*/questions.yml"))
    ]


def real_corpora() -> list[Corpus]:
    """Every workspace under bench/corpora/ (real public text) that has a questions.yml."""
    return [
        Corpus(path.parent.name, path.parent, load_cases(path))
        for path in sorted(REAL_CORPORA.glob("*/questions.yml"))
    ]


def demo_corpus() -> Corpus:
    """The bundled demo workspace with its golden set."""
    cases = [c for path in sorted((DEMO / "evals").glob("*.yml")) for c in load_cases(path)]
    return Corpus("demo", DEMO, tuple(cases))


# --- judging one result (the `trellis ask --json` shape) ------------------------------------


def overall_status(result: dict[str, Any]) -> str:
    """What the asker gets: a private fuller answer counts as answered."""
    private = result.get("private")
    if private and private.get("status") == "answered":
        return "answered"
    return result["status"]


def cited(result: dict[str, Any]) -> list[str]:
    """Cited doc ids, public then private, without repeats."""
    docs = [c["doc_id"] for c in result["citations"]]
    if result.get("private"):
        docs += [c["doc_id"] for c in result["private"]["citations"]]
    return list(dict.fromkeys(docs))


def problems(case: Case, result: dict[str, Any]) -> list[str]:
    """Why `result` is not what `case` expects, in words; empty when it is."""
    found = []
    status = overall_status(result)
    if status != case.expect_status:
        found.append(f"status {status}, expected {case.expect_status}")
    if case.expect_public_status and result["status"] != case.expect_public_status:
        found.append(f"channel reply {result['status']}, expected {case.expect_public_status}")
    docs = cited(result)
    missing = [d for d in case.expect_sources if d not in docs]
    if missing:
        found.append(f"missing sources {missing} (cited {docs})")
    if not case.expect_sources and docs:
        found.append(f"cited {docs}, expected none")
    answers = result["answer"] + " " + (result.get("private") or {}).get("answer", "")
    absent = [t for t in case.expect_text if t.casefold() not in answers.casefold()]
    if absent and status == "answered":
        found.append(f"answer lacks {absent}")
    shown = json.dumps(_without_ids(result), ensure_ascii=False).casefold()
    leaked = [t for t in case.never_text if t.casefold() in shown]
    if leaked:
        found.append(f"LEAK {leaked}")
    return found


_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _without_ids(value: Any) -> Any:
    """`value` with its record ids blanked: a random UUID ("...fa5103a5") may hold any
    figure, and is no leak."""
    if isinstance(value, dict):
        return {key: _without_ids(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_ids(item) for item in value]
    return _ID.sub("<id>", value) if isinstance(value, str) else value
