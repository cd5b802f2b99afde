"""`trellis check` and `trellis init`: a workspace folder checked without starting anything,
and a small starter workspace written to begin from.

`check` lists every problem at once, as `file:line: what is wrong`: the errors that keep
the workspace from loading (those `trellis run` would stop at, one at a time) and the
warnings that do not (a manager outside the directory, a document no access rule admits,
a file of a type Trellis does not read, a document with no text to read, a workflow tier
nobody can approve, a connector whose secret is not set).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from app.cli.common import WorkspaceOption, console, say, settings_for
from app.config.directory import Directory
from app.config.links import url_allowed
from app.config.workspace import RULES_FILE, Workspace, read_workspace
from app.config.yamlfile import Loc, YamlDocument, load_yaml
from app.delivery.actions import check_rules
from app.errors import BrokenAccessRule, WorkspaceError
from app.knowledge.access_rules import ACCESS_FILE, AccessRules, display_name
from app.knowledge.ingest import url_refused
from app.knowledge.loaders import is_document, load_document, not_read
from app.rules.schema import MANAGER

STARTER = Path(__file__).parent / "starter"


@dataclass
class Review:
    errors: list[WorkspaceError] = field(default_factory=list)
    warnings: list[WorkspaceError] = field(default_factory=list)

    def add(self, error: WorkspaceError) -> None:
        self.errors.extend((error, *error.also))


def review_workspace(root: Path, env: Mapping[str, str]) -> Review:
    """Every error and warning in the workspace at `root`, nothing started."""
    workspace, found = read_workspace(root)
    review = Review(list(found.errors), list(found.warnings))
    if not root.is_dir():
        return review
    directory = workspace.directory if workspace is not None else None
    if (root / "knowledge").is_dir():
        prefixes = workspace.config.knowledge.allowed_url_prefixes if workspace else None
        _review_knowledge(root, directory, review, prefixes)
    if workspace is not None:
        _review_rules(workspace, env, review)
    return review


def _review_knowledge(
    root: Path, directory: Directory | None, review: Review, prefixes: Sequence[str] | None
) -> None:
    """What ingest would refuse or skip, and documents no access rule lets anyone see."""
    knowledge = (root / "knowledge").resolve()
    rules = AccessRules.load(knowledge, display_root=root)
    review.errors.extend(rules.errors)
    ids: dict[str, str] = {}
    for path in sorted(p for p in knowledge.rglob("*") if p.is_file()):
        relative = path.relative_to(knowledge)
        if any(part.startswith(".") for part in relative.parts) or path.name == ACCESS_FILE:
            continue
        name = display_name(path, root)
        if not path.resolve().is_relative_to(knowledge):
            review.add(WorkspaceError(name, "links to a file outside the knowledge folder"))
            continue
        if not is_document(path):
            if (warning := not_read(name, path)) is not None:
                review.warnings.append(warning)
            continue
        try:
            document = load_document(path, knowledge_dir=knowledge, workspace_root=root)
            access = rules.resolve(document.path, document.access)
        except WorkspaceError as exc:
            review.add(exc)
            continue
        except BrokenAccessRule:
            continue  # the broken _access.yml is reported once, above
        if not document.blocks:
            scan = (
                " (a scanned PDF needs text recognition first)" if document.format == "pdf" else ""
            )
            review.warnings.append(
                WorkspaceError(name, f"has no text to read, so it answers nothing{scan}")
            )
        if document.id in ids:
            review.add(
                WorkspaceError(name, f"id {document.id!r} is also used by {ids[document.id]}")
            )
            continue
        ids[document.id] = name
        if document.url and not url_allowed(document.url, prefixes):
            review.warnings.append(url_refused(name, document.url))
        if not access.principals:
            review.warnings.append(
                WorkspaceError(
                    name,
                    "no access rule admits anyone, so nobody will see it: give it `access:` "
                    f"in its front matter or a rule in an {ACCESS_FILE} of its folder",
                )
            )
        elif directory is not None and not any(
            directory.knows_principal(p) for p in access.principals
        ):
            review.warnings.append(
                WorkspaceError(
                    name,
                    f"its access ({', '.join(access.principals)}, from {access.source}) names "
                    "nobody in the directory, so nobody will see it",
                )
            )


def _review_rules(workspace: Workspace, env: Mapping[str, str], review: Review) -> None:
    doc = _rules_doc(workspace.root)
    try:
        for warning in check_rules(workspace.rules, env):
            review.warnings.append(_at(doc, warning))
    except WorkspaceError as exc:
        review.add(exc if doc is None else _at(doc, exc.problem))
    for loc, problem in _unapprovable(workspace):
        review.warnings.append(
            doc.error(loc, problem) if doc else WorkspaceError(RULES_FILE, problem)
        )


def _rules_doc(root: Path) -> YamlDocument | None:
    path = root / RULES_FILE
    return load_yaml(path, display_name=RULES_FILE) if path.is_file() else None


def _at(doc: YamlDocument | None, message: str) -> WorkspaceError:
    """`message` ("workflows.x.actions.0: …") at the line of the key it starts with."""
    if doc is None:
        return WorkspaceError(RULES_FILE, message)
    dotted, _, _ = message.partition(":")
    loc: Loc = tuple(int(p) if p.isdigit() else p for p in dotted.strip().split("."))
    return doc.error(loc, message)


def _unapprovable(workspace: Workspace) -> Iterator[tuple[Loc, str]]:
    """Approval tiers that some people who may start the workflow can never get past:
    nobody but the requester is among the approvers (or their manager is not listed)."""
    directory = workspace.directory
    for slug, workflow in workspace.rules.workflows.items():
        starters = sorted(directory.expand(workflow.started_by), key=lambda p: p.email)
        for t, tier in enumerate(workflow.approval):
            if not tier.approvers:
                continue
            named = [a for a in tier.approvers if a != MANAGER]
            groups = [[a] for a in named] if tier.require == "all" else [named]
            stuck = []
            for person in starters:
                manager = directory.manager_of(person) if MANAGER in tier.approvers else None
                for principals in groups or [[]]:
                    eligible = directory.expand(principals) | ({manager} if manager else set())
                    if not eligible - {person}:
                        stuck.append(person.email)
                        break
            if stuck:
                shown = ", ".join(stuck[:3]) + (
                    f" and {len(stuck) - 3} more" if len(stuck) > 3 else ""
                )
                who = ", ".join(tier.approvers)
                yield (
                    ("workflows", slug, "approval", t, "approvers"),
                    f"workflows.{slug}.approval.{t}.approvers: requests from {shown} can "
                    f"never be approved at this tier, as nobody in {who} but the requester "
                    "could approve them; add people to the directory",
                )


def check_command(workspace: WorkspaceOption = None) -> None:
    """Check a workspace without starting anything: every problem at once, as
    file:line: what is wrong. Exit status 1 when there are errors, 0 otherwise."""
    root = settings_for(workspace).workspace_path()
    review = review_workspace(root, os.environ)
    for error in review.errors:
        console.print(f"[red]error[/red]   {escape(str(error))}", highlight=False, soft_wrap=True)
    for warning in review.warnings:
        console.print(
            f"[yellow]warning[/yellow] {escape(str(warning))}", highlight=False, soft_wrap=True
        )
    counts = f"{_count(review.errors, 'error')}, {_count(review.warnings, 'warning')}"
    console.print(f"{escape(str(root))}: {counts}.", highlight=False, soft_wrap=True)
    if review.errors:
        raise typer.Exit(1)


def _count(items: list[WorkspaceError], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def init_command(
    folder: Annotated[Path, typer.Argument(help="The folder to create (new or empty).")],
) -> None:
    """Write a small, commented starter workspace: the directory, one document for each
    way of granting access, one workflow, trellis.yml and a sandbox."""
    target = folder.expanduser().resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        say(
            f"[red]Setup error[/red] {escape(str(folder))}: already exists and is not an "
            "empty folder; name a new folder for the workspace"
        )
        raise typer.Exit(2)
    shutil.copytree(STARTER, target, dirs_exist_ok=True)
    console.print(f"Wrote a starter workspace to {escape(str(target))}.", highlight=False)
    w = escape(str(folder))
    console.print(
        "Next:\n"
        f"  trellis check --workspace {w}\n"
        f'  trellis ask --workspace {w} --as sam@example.com "When is the office open?"\n'
        f"  trellis run --workspace {w}",
        highlight=False,
        soft_wrap=True,
    )


def register(cli: typer.Typer) -> None:
    cli.command("check")(check_command)
    cli.command("init")(init_command)
