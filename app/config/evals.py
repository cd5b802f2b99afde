"""evals/: the golden questions, `*.yml` files with a `cases:` list.

    cases:
      - id: pto-days
        question: How many PTO days do I get?
        asker: ana@acme.example          # asked as this person
        channel: C0GENERAL1              # optional: asked in this channel (sandbox.yml's)
        expect_status: answered          # answered | no_answer | refused | needs_approval
        expect_sources: [hr-pto-2025]    # document ids that must be cited
        expect_facts: ["25 days"]        # optional: words the answer must state

`load_evals` checks every file on its own, so one broken file does not hide the mistakes
of another. Whether the askers, channels and sources exist is checked by `trellis check`
(`case_problems`): a case that cannot pass would be scored as a failure of the bot.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from app.config.directory import Directory
from app.config.people import invalid, normalize_email
from app.config.yamlfile import YamlDocument, load_yaml, validate
from app.domain import AccessScope
from app.errors import WorkspaceError

EVALS_FOLDER = "evals"


class EvalCase(BaseModel):
    """One golden question and what a correct run looks like."""

    model_config = ConfigDict(extra="forbid")

    id: str
    question: str
    asker: str
    channel: str | None = None
    expect_status: Literal["answered", "no_answer", "refused", "needs_approval"]
    expect_sources: list[str] = []
    expect_facts: list[str] = []
    """Words the answer must state, each as written (case and spacing aside): the figure,
    name or rule the question asks for, so a case citing the right document while saying
    the wrong thing fails."""

    @field_validator("id", "question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise invalid("cannot be empty")
        return value.strip()

    @field_validator("asker")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalize_email(value)


class EvalFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cases: list[EvalCase]


def eval_files(root: Path) -> list[Path]:
    folder = root / EVALS_FOLDER
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix == ".yml"
    )


def load_evals(root: Path) -> tuple[EvalCase, ...]:
    """Every case of every file; all the mistakes of all the files as one WorkspaceError
    (the first, the others in its `also`)."""
    cases: list[EvalCase] = []
    problems: list[WorkspaceError] = []
    seen: dict[str, str] = {}
    for path in eval_files(root):
        try:
            doc, parsed = _read(path)
        except WorkspaceError as exc:
            problems.extend((exc, *exc.also))
            continue
        for i, case in enumerate(parsed.cases):
            if case.id in seen:
                problems.append(
                    doc.error(
                        ("cases", i, "id"),
                        f"cases.{i}.id: {case.id!r} is already used in {seen[case.id]}",
                    )
                )
                continue
            seen[case.id] = doc.file
            cases.append(case)
    if problems:
        first, *rest = problems
        raise WorkspaceError(first.file, first.problem, line=first.line, also=tuple(rest))
    return tuple(cases)


def _read(path: Path) -> tuple[YamlDocument, EvalFile]:
    doc = load_yaml(path, display_name=f"{EVALS_FOLDER}/{path.name}")
    return doc, validate(doc, EvalFile)


def cases_with_places(root: Path) -> Iterator[tuple[YamlDocument, int, EvalCase]]:
    """Each case with its file and index, for messages at its lines; files that do not
    load are left out (their mistakes are reported by `load_evals`)."""
    for path in eval_files(root):
        try:
            doc, parsed = _read(path)
        except WorkspaceError:
            continue
        for i, case in enumerate(parsed.cases):
            yield doc, i, case


def case_problems(
    root: Path,
    *,
    directory: Directory | None,
    directory_name: str,
    channels: Collection[str] | None,
    documents: Mapping[str, tuple[str, ...] | None] | None,
) -> list[WorkspaceError]:
    """Cases that cannot pass whatever the bot does: an asker outside the directory who is
    expected to get more than a refusal, a channel the sandbox does not have, an expected
    source that no document is, or one the asker may not see (the askers only with a
    `directory`).

    `channels`: the ids and names of the sandbox's channels (None: sandbox.yml could not
    be read, so channels are not checked). `documents`: each document
    id with its access (None when it cannot be known), or None when some documents could
    not be read (their ids are unknown, so the sources are not checked)."""
    found: list[WorkspaceError] = []
    for doc, i, case in cases_with_places(root):
        at = ("cases", i)
        person = directory.by_email(case.asker) if directory is not None else None
        if directory is not None and person is None and case.expect_status != "refused":
            found.append(
                doc.error(
                    (*at, "asker"),
                    f"cases.{i}.asker: {case.asker} is not in {directory_name}, so Trellis "
                    f"refuses them and the case can never be {case.expect_status}",
                )
            )
        if case.channel and channels is not None and case.channel.lstrip("#") not in channels:
            found.append(
                doc.error(
                    (*at, "channel"),
                    f"cases.{i}.channel: there is no channel {case.channel} in sandbox.yml, "
                    "where eval runs find the members of the channels they ask in",
                )
            )
        for s, source in enumerate(case.expect_sources if documents is not None else ()):
            assert documents is not None  # for mypy: no sources without documents
            where = (*at, "expect_sources", s)
            if source not in documents:
                close = difflib.get_close_matches(source, sorted(documents), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                found.append(
                    doc.error(
                        where,
                        f"cases.{i}.expect_sources.{s}: no document has the id {source!r}{hint}",
                    )
                )
            elif (
                person is not None
                and (access := documents[source]) is not None
                and not AccessScope.for_person(person).allows(access)
            ):
                found.append(
                    doc.error(
                        where,
                        f"cases.{i}.expect_sources.{s}: {case.asker} may not see {source!r} "
                        f"(access: {', '.join(access) or 'nobody'}), so it is never cited "
                        "to them",
                    )
                )
    return found
