"""What `trellis check` finds in a workspace, nothing started.

Errors: what keeps the workspace from loading (`read_workspace`, every mistake of every
file), what ingest would refuse (a broken document, an id used twice, an `_access.yml`
pattern that decides for no file), and eval cases that cannot pass whatever the bot does.
Warnings: what loads but will not do what it seems to (a manager outside the directory, a
document no access rule admits, a file of a type Trellis does not read, a document with no
text, a principal in a document's front-matter `access` or its owner that the directory does
not know, a channel the sandbox does not have, a workflow tier nobody can approve, a
connector whose secret is not set, drafts that go out while no model writes them:
app/cli/review_drafts.py). Errors also: an action setting its connector does not have or a
secret written in rules.yml (app/delivery/settings.py), and a prompt placeholder nothing
fills.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.answering.prompts import KNOWN_VALUES, placeholders
from app.cli.review_approvals import escalates_to_approvers, unapprovable
from app.cli.review_drafts import offline_drafts
from app.config.directory import Directory
from app.config.evals import case_problems
from app.config.links import url_allowed
from app.config.principals import unknown_access
from app.config.sandbox import channel_refs
from app.config.workspace import (
    DIRECTORY_FILES,
    PROMPT_SUFFIXES,
    RULES_FILE,
    TRELLIS_FILE,
    TrellisConfig,
    read_workspace,
)
from app.config.yamlfile import Loc, YamlDocument, load_yaml
from app.delivery.actions import check_rules
from app.delivery.settings import setting_problems
from app.errors import BrokenAccessRule, WorkspaceError
from app.knowledge.access_rules import ACCESS_FILE, AccessRules, display_name
from app.knowledge.ingest import url_refused
from app.knowledge.loaders import is_document, load_document, not_read
from app.rules.schema import RulesConfig

Documents = dict[str, tuple[str, ...] | None]
"""Each document id with its access (None when a broken `_access.yml` hides it)."""


@dataclass
class Review:
    errors: list[WorkspaceError] = field(default_factory=list)
    warnings: list[WorkspaceError] = field(default_factory=list)

    def add(self, error: WorkspaceError) -> None:
        self.errors.extend((error, *error.also))


def review_workspace(root: Path, env: Mapping[str, str]) -> Review:
    """Every error and warning in the workspace at `root`, nothing started. What depends
    only on the files that could be read is checked even when others could not."""
    workspace, found = read_workspace(root)
    review = Review(list(found.errors), list(found.warnings))
    if not root.is_dir():
        return review
    directory = found.directory
    documents: Documents | None = None
    if (root / "knowledge").is_dir():
        prefixes = found.config.knowledge.allowed_url_prefixes if found.config else None
        documents = _review_knowledge(root, directory, review, prefixes)
    # Who can approve is worked out only for a workspace that loads: with a principal
    # that does not exist, it would repeat that error as a warning.
    approvers = workspace.directory if workspace is not None else None
    sandbox = found.sandbox.data if found.sandbox is not None else None
    # With a mistake in rules.yml, what is checked of each workflow alone is checked for
    # those that fit the schema (`rules_read`).
    rules = found.rules_read
    if rules is not None:
        _review_rules(root, rules, approvers, env, review, _sandboxed(root, rules, sandbox))
        review.errors.extend(_unknown_placeholders(root, rules))
    if found.sandbox_read:
        review.warnings.extend(_unknown_channels(root, found.config, rules, sandbox))
    if found.config is not None:
        review.warnings.extend(_unknown_emoji(root, found.config))
    review.errors.extend(
        case_problems(
            root,
            directory=directory,
            directory_name=_directory_name(root),
            channels=channel_refs(sandbox) if found.sandbox_read else None,
            documents=documents,
        )
    )
    return review


def _directory_name(root: Path) -> str:
    return next((name for name in DIRECTORY_FILES if (root / name).is_file()), "directory.yml")


def _review_knowledge(
    root: Path, directory: Directory | None, review: Review, prefixes: Sequence[str] | None
) -> Documents | None:
    """What ingest would refuse or skip, documents no access rule lets anyone see, and
    owners nobody knows. The documents read, or None when some could not be read."""
    knowledge = (root / "knowledge").resolve()
    rules = AccessRules.load(knowledge, display_root=root)
    review.errors.extend(rules.errors)
    if directory is not None:
        for name, owner, line in rules.folder_owners():
            review.warnings.extend(_unknown_owner(name, owner, line, directory, root))
    ids: dict[str, str] = {}
    documents: Documents = {}
    admitted_by_none: dict[Path, list[str]] = {}  # folder -> its documents nobody may see
    complete = True
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
        except WorkspaceError as exc:
            review.add(exc)
            complete = False
            continue
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
        if directory is not None:
            line = document.lines.get("owner")
            review.warnings.extend(_unknown_owner(name, document.owner, line, directory, root))
        try:
            access = rules.resolve(document.path, document.access)
        except BrokenAccessRule:
            documents[document.id] = None  # the broken _access.yml is reported once, above
            continue
        documents[document.id] = access.principals
        if access.withheld:  # the misspelt pattern is reported once, above
            continue
        if not access.principals:
            admitted_by_none.setdefault(path.parent, []).append(name)
        elif directory is not None and document.access is not None:
            review.warnings.extend(unknown_access(name, document, directory, _directory_name(root)))
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
    for folder, names in admitted_by_none.items():
        review.warnings.extend(_admitted_by_none(display_name(folder, root), names))
    return documents if complete else None


FOLDER_WARNING_FROM = 3
"""From this many documents of one folder that no access rule admits, one warning names the
folder (a folder of documents copied in without an `_access.yml`) instead of one per file."""


def _admitted_by_none(folder: str, names: Sequence[str]) -> list[WorkspaceError]:
    if len(names) < FOLDER_WARNING_FROM:
        return [
            WorkspaceError(
                name,
                "no access rule admits anyone, so nobody will see it: give it `access:` "
                f"in its front matter or a rule in an {ACCESS_FILE} of its folder",
            )
            for name in names
        ]
    listed = ", ".join(Path(name).name for name in names[:3])
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return [
        WorkspaceError(
            f"{folder}/",
            f"no access rule admits anyone to its {len(names)} documents ({listed}{more}), "
            f"so nobody will see them: add an {ACCESS_FILE} to the folder (`default: "
            "[everyone]` lets every employee read them) or give each `access:` in its "
            "front matter",
        )
    ]


def _unknown_owner(
    name: str, owner: str | None, line: int | None, directory: Directory, root: Path
) -> Iterator[WorkspaceError]:
    if owner is None or directory.knows_principal(owner):
        return
    listed = _directory_name(root)
    if "@" in owner:
        problem = f"owner: {owner} is not in {listed}"
    else:
        problem = f"owner: {owner!r} is neither a group in {listed} nor the email of someone in it"
        if close := difflib.get_close_matches(owner, sorted(directory.groups), n=1):
            problem += f" (did you mean {close[0]!r}?)"
    yield WorkspaceError(
        name,
        f"{problem}; askers are told to ask {owner}, but flags and unanswered questions "
        "reach no owner in Slack, only the owners channel",
        line=line,
    )


def _unknown_placeholders(root: Path, rules: RulesConfig) -> Iterator[WorkspaceError]:
    """`{name}` placeholders of a prompt that nothing fills: not an input of a workflow
    drafting with it, nor `{company}`. They would reach the draft as written."""
    uses: dict[str, list[str]] = {"answer": []}
    for slug, workflow in rules.workflows.items():
        if workflow.draft is not None:
            uses.setdefault(workflow.draft.prompt, []).append(slug)
    for stem, slugs in uses.items():
        path = next((p for p in _prompt_files(root, stem) if p.is_file()), None)
        if path is None:
            continue  # a missing prompt is reported where rules.yml names it
        known = [*KNOWN_VALUES, *(n for s in slugs for n in rules.workflows[s].inputs)]
        what = (
            f"neither an input of workflow {', '.join(slugs)} nor {{company}}"
            if slugs
            else "not {company}, the only value the answer prompt is given"
        )
        for line, name in placeholders(path.read_text(encoding="utf-8", errors="replace")):
            if name in known:
                continue
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {{{close[0]}}}?)" if close else ""
            yield WorkspaceError(
                f"prompts/{path.name}",
                f"{{{name}}} is {what}, so it would be sent as written{hint}; "
                f"it may name {', '.join('{' + k + '}' for k in known)}",
                line=line,
            )


def _prompt_files(root: Path, stem: str) -> list[Path]:
    return [root / "prompts" / f"{stem}{suffix}" for suffix in PROMPT_SUFFIXES]


def _unknown_channels(
    root: Path, config: TrellisConfig | None, rules: RulesConfig | None, sandbox: Any
) -> Iterator[WorkspaceError]:
    """Channels trellis.yml and rules.yml name that the sandbox does not have. With its
    channels in sandbox.yml they are checked against them; otherwise only Slack can tell."""
    known = channel_refs(sandbox)
    listed = bool((sandbox or {}).get("channels"))
    for doc, loc, reference in _channel_refs(root, config, rules):
        if reference.lstrip("#") in known:
            continue
        where = ".".join(str(p) for p in loc)
        if listed:
            problem = (
                f"{where}: there is no channel {reference} in sandbox.yml, so the sandbox "
                "cannot post there; on Slack it must exist and have Trellis in it"
            )
        else:
            problem = (
                f"{where}: {reference} cannot be checked without the workspace's channels in "
                "sandbox.yml; on Slack it must exist and have Trellis in it"
            )
        yield doc.error(loc, problem)


def _unknown_emoji(root: Path, config: TrellisConfig) -> Iterator[WorkspaceError]:
    """Flag reactions that are not standard Slack emoji: nobody can react with one unless
    the Slack workspace has it as a custom emoji, and the sandbox has none."""
    from app.sandbox.emoji_names import emoji_table

    doc = _doc(root, TRELLIS_FILE)
    known = emoji_table()
    for i, name in enumerate(config.flags.reactions):
        loc: Loc = ("flags", "reactions", i)
        if doc is None or loc not in doc.lines or name.partition("::")[0] in known:
            continue
        close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        yield doc.error(
            loc,
            f"flags.reactions.{i}: {name!r} is not a standard Slack emoji{hint}, so nobody "
            "can flag an answer with it unless your Slack has it as a custom emoji (the "
            "sandbox has only the standard ones)",
        )


def _channel_refs(
    root: Path, config: TrellisConfig | None, rules: RulesConfig | None
) -> Iterator[tuple[YamlDocument, Loc, str]]:
    trellis = _doc(root, TRELLIS_FILE) if config is not None else None
    if config is not None and trellis is not None:
        if config.owners_channel:
            yield trellis, ("owners_channel",), config.owners_channel
        if config.support and config.support.startswith("#"):
            yield trellis, ("support",), config.support
    doc = _doc(root, RULES_FILE) if rules is not None else None
    if rules is not None and doc is not None:
        for slug, workflow in rules.workflows.items():
            if workflow.channel:
                yield doc, ("workflows", slug, "channel"), workflow.channel
        if rules.answers.channel:
            yield doc, ("answers", "channel"), rules.answers.channel


def _review_rules(
    root: Path,
    rules: RulesConfig,
    directory: Directory | None,
    env: Mapping[str, str],
    review: Review,
    sandboxed: Collection[str] = (),
) -> None:
    doc = _doc(root, RULES_FILE)
    for problem in setting_problems(rules):
        review.errors.append(_at(doc, problem))
    try:
        for warning in check_rules(rules, env, sandboxed=sandboxed, settings=False):
            review.warnings.append(_at(doc, warning))
    except WorkspaceError as exc:
        for each in (exc, *exc.also):
            review.errors.append(each if doc is None else _at(doc, each.problem))
    for loc, warning in offline_drafts(rules, env):
        review.warnings.append(
            doc.error(loc, warning) if doc else WorkspaceError(RULES_FILE, warning)
        )
    if directory is None:
        return
    for loc, problem in [
        *unapprovable(rules, directory),
        *escalates_to_approvers(rules, directory),
    ]:
        review.warnings.append(
            doc.error(loc, problem) if doc else WorkspaceError(RULES_FILE, problem)
        )


def _sandboxed(root: Path, rules: RulesConfig, sandbox: Any) -> set[str]:
    """The secrets the sandbox generates: with stand-in systems (the bundled demo, or
    sandbox.yml `systems: true`), every connector's secret variable."""
    from app.sandbox.systems.standins import generated_secrets, wants_systems

    return generated_secrets(rules) if wants_systems(root, sandbox) else set()


def _doc(root: Path, name: str) -> YamlDocument | None:
    path = root / name
    return load_yaml(path, display_name=name, duplicates_kept=True) if path.is_file() else None


def _at(doc: YamlDocument | None, message: str) -> WorkspaceError:
    """`message` ("workflows.x.actions.0: …") at the line of the key it starts with."""
    if doc is None:
        return WorkspaceError(RULES_FILE, message)
    dotted, _, _ = message.partition(":")
    loc: Loc = tuple(int(p) if p.isdigit() else p for p in dotted.strip().split("."))
    return doc.error(loc, message)
