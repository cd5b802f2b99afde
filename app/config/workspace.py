"""The workspace: one folder that describes a company to Trellis.

    trellis.yml      settings (every key optional)
    directory.yml    people and their groups, or directory.csv (required)
    rules.yml        workflows and approval rules
    knowledge/       documents (required; loaded by app/knowledge)
    prompts/         prompt templates, one .md or .txt file each
    evals/           golden questions, *.yml files with a `cases:` list
    sandbox.yml      the local Slack workspace for `trellis run` without tokens

`load_workspace` reads and checks all of it at once. Any mistake is a WorkspaceError
naming the file (relative to the workspace), the line and the problem, so a broken
workspace never starts. That includes a principal (a group or an email) that the
directory does not know: a misspelt group would otherwise silently grant nothing.
`read_workspace` goes on past each mistake and returns every one found, with the
warnings (`trellis check`): each file, each section of trellis.yml and each workflow,
approval tier and condition of rules.yml is read on its own, so that one mistake hides
no other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.config.directory import Directory
from app.config.evals import EvalCase as EvalCase  # also found here by app.trust
from app.config.evals import EvalFile as EvalFile
from app.config.evals import load_evals
from app.config.links import KnowledgeConfig
from app.config.people import invalid
from app.config.principals import access_principals, dotted, unknown_principals
from app.config.sandbox import SANDBOX_FILE, Sandbox, load_sandbox, sandbox_problems
from app.config.settings import default_workspace_path as default_workspace_path
from app.config.yamlfile import Loc, YamlDocument, load_yaml, validate_sections
from app.errors import WorkspaceError
from app.rules.loading import named_principals, named_prompts, read_rules, readable_rules
from app.rules.rulebook import RuleBook
from app.rules.schema import Principal, RulesConfig

TRELLIS_FILE = "trellis.yml"
RULES_FILE = "rules.yml"
DIRECTORY_FILES = ("directory.yml", "directory.csv")
PROMPT_SUFFIXES = (".md", ".txt")
T = TypeVar("T")


# --- trellis.yml ----------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnswersConfig(_Strict):
    min_confidence: float = Field(default=0.5, ge=0, le=1)
    """The gate's threshold: the least probability of being right an answer needs."""
    max_sources: int = Field(default=5, ge=1, le=50)
    owner_notice: Literal["full", "redacted"] = "full"
    """What owners are told of questions nobody could answer: their words, or counts only."""


class FlagsConfig(_Strict):
    reactions: list[str] = ["x", "warning"]
    flaggers: list[Principal] = ["support"]

    @field_validator("reactions")
    @classmethod
    def _emoji_names(cls, value: list[str]) -> list[str]:
        return [name.strip().strip(":") for name in value]


class ModelsConfig(_Strict):
    answer: str | None = None
    draft: str | None = None
    classify: str | None = None


class BudgetsConfig(_Strict):
    per_person_daily_usd: float | None = Field(default=None, ge=0)
    per_group_daily_usd: dict[str, float] = {}

    @field_validator("per_group_daily_usd")
    @classmethod
    def _not_negative(cls, value: dict[str, float]) -> dict[str, float]:
        for group, amount in value.items():
            if amount < 0:
                raise invalid(f"the budget for {group} cannot be negative")
        return value


class EvalsConfig(_Strict):
    """The eval gate: a version scoring below these, or below the live version, stays out."""

    min_status_accuracy: float = Field(default=0.8, ge=0, le=1)
    min_source_recall: float = Field(default=0.8, ge=0, le=1)
    min_fact_recall: float = Field(default=0.8, ge=0, le=1)
    """Of the facts the cases expect (`expect_facts`), the share the answers state."""
    allowed_regression: float = Field(default=0.0, ge=0, le=1)
    """How far below the live version's scores a new version may fall and still go live."""


class TrellisConfig(_Strict):
    name: str | None = None
    admins: list[Principal] = []
    owners_channel: str | None = None
    support: str | None = None
    answers: AnswersConfig = AnswersConfig()
    flags: FlagsConfig = FlagsConfig()
    models: ModelsConfig = ModelsConfig()
    budgets: BudgetsConfig = BudgetsConfig()
    evals: EvalsConfig = EvalsConfig()
    retrieval: Literal["hybrid", "keyword"] = "hybrid"
    """hybrid: keyword and meaning (a local embedding model); keyword: words only."""
    knowledge: KnowledgeConfig = KnowledgeConfig()

    @property
    def admins_hint(self) -> str:
        """Whom people are told to ask: the support contact, else the admins."""
        return self.support or ", ".join(self.admins) or "your Trellis admins"

    @property
    def default_owners(self) -> tuple[str, ...]:
        """Who answers for a question no document's owner does: support, else the admins."""
        return (self.support,) if self.support else tuple(self.admins)

    def principal_refs(self) -> Iterator[tuple[Loc, str]]:
        for i, p in enumerate(self.admins):
            yield ("admins", i), p
        for i, p in enumerate(self.flags.flaggers):
            yield ("flags", "flaggers", i), p
        for group in self.budgets.per_group_daily_usd:
            yield ("budgets", "per_group_daily_usd", group), group


# --- The workspace --------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Workspace:
    root: Path
    config: TrellisConfig
    directory: Directory
    rules: RulesConfig
    rulebook: RuleBook
    prompts: Mapping[str, str]
    evals: tuple[EvalCase, ...]
    sandbox: dict[str, Any] | None
    knowledge_dir: Path
    version: str
    """A short hash of everything but knowledge/, the same on every machine."""


@dataclass
class Findings:
    """What is wrong with a workspace: `errors` keep it from loading, `warnings` do not.
    The parts that could be read are kept, so that `trellis check` goes on to check what
    depends on them alone."""

    errors: list[WorkspaceError] = field(default_factory=list)
    warnings: list[WorkspaceError] = field(default_factory=list)
    directory: Directory | None = None
    config: TrellisConfig | None = None
    rules: RulesConfig | None = None
    rules_read: RulesConfig | None = None
    """`rules`, or when rules.yml has a mistake the parts of it that fit the schema."""
    sandbox: Sandbox | None = None
    sandbox_read: bool = True
    """False when there is a sandbox.yml that could not be read."""

    def add(self, error: WorkspaceError) -> None:
        self.errors.extend((error, *error.also))

    def attempt(self, step: Callable[[], T]) -> T | None:
        """The step's result, or None with its mistakes recorded."""
        try:
            return step()
        except WorkspaceError as exc:
            self.add(exc)
            return None


def load_workspace(path: Path) -> Workspace:
    """The workspace, or its first mistake as a WorkspaceError carrying the others in
    `also`: a command that cannot start lists every mistake at once, as `trellis check`."""
    workspace, findings = read_workspace(path)
    if workspace is None:
        first, *others = findings.errors
        first.also = tuple(others)
        raise first
    return workspace


def read_workspace(path: Path) -> tuple[Workspace | None, Findings]:
    """Read and check everything, going on past each mistake so that all are found; the
    workspace when there are none."""
    found = Findings()
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        found.add(WorkspaceError(str(path), "the workspace folder does not exist"))
        return None, found

    directory_path = found.attempt(lambda: _directory_file(root))
    directory = None
    if directory_path is not None:
        read = found.attempt(
            lambda: Directory.read(directory_path, display_name=directory_path.name)
        )
        if read is not None:
            directory, problems = read
            found.errors.extend(problems)
            found.warnings.extend(directory.warnings)
    knowledge_dir = root / "knowledge"
    if not knowledge_dir.is_dir():
        found.add(
            WorkspaceError(
                "knowledge/",
                "missing: create knowledge/ and put the documents Trellis may answer from in it",
            )
        )

    config_file = found.attempt(lambda: _load_config(root, found))
    rules_file = found.attempt(lambda: _load_rules(root, found))
    prompts = found.attempt(lambda: _load_prompts(root))
    evals = found.attempt(lambda: load_evals(root))
    sandbox = found.attempt(lambda: load_sandbox(root))
    found.directory, found.sandbox = directory, sandbox
    found.sandbox_read = sandbox is not None or not (root / SANDBOX_FILE).is_file()
    found.config = config_file[0] if config_file is not None else None
    found.rules = rules_file[0] if rules_file is not None else None
    rules_doc = rules_file[1] if rules_file is not None else None
    found.rules_read = found.rules
    if found.rules is None and rules_doc is not None:
        found.rules_read = readable_rules(rules_doc)

    if directory is None and directory_path is not None:
        found.warnings.append(
            WorkspaceError(
                directory_path.name,
                "the names of people and groups in trellis.yml, rules.yml, sandbox.yml and "
                "_access.yml files are checked once this file loads",
            )
        )
    if directory is not None and directory_path is not None:
        name = directory_path.name
        if config_file is not None and config_file[1] is not None:
            refs = config_file[0].principal_refs()
            found.errors.extend(unknown_principals(config_file[1], refs, directory, name))
        if knowledge_dir.is_dir():
            for access_doc, access_refs in access_principals(knowledge_dir, root):
                found.errors.extend(unknown_principals(access_doc, access_refs, directory, name))
        if rules_doc is not None:
            found.errors.extend(
                unknown_principals(rules_doc, named_principals(rules_doc), directory, name)
            )
    if sandbox is not None:
        name = directory_path.name if directory_path is not None else "directory.yml"
        found.errors.extend(sandbox_problems(sandbox, directory, name))
    if rules_doc is not None and prompts is not None:
        for loc, prompt in named_prompts(rules_doc):
            if prompt not in prompts:
                found.errors.append(
                    rules_doc.error(
                        loc, f"{dotted(loc)}: there is no prompts/{prompt}.md (or .txt)"
                    )
                )

    if (
        found.errors
        or directory is None
        or config_file is None
        or found.rules is None
        or prompts is None
        or evals is None
    ):
        return None, found
    rules = found.rules
    workspace = Workspace(
        root=root,
        config=config_file[0],
        directory=directory,
        rules=rules,
        rulebook=RuleBook(rules, directory),
        prompts=prompts,
        evals=evals,
        sandbox=sandbox.data if sandbox is not None else None,
        knowledge_dir=knowledge_dir,
        version=workspace_version(root),
    )
    return workspace, found


def _directory_file(root: Path) -> Path:
    found = [root / name for name in DIRECTORY_FILES if (root / name).is_file()]
    if not found:
        raise WorkspaceError(
            "directory.yml",
            "missing: every workspace needs directory.yml (or directory.csv) listing its people",
        )
    if len(found) > 1:
        raise WorkspaceError(
            "directory.csv", "both directory.yml and directory.csv exist; keep one of them"
        )
    return found[0]


def _load_config(root: Path, found: Findings) -> tuple[TrellisConfig, YamlDocument | None] | None:
    """The settings, each section read on its own: a wrong one is left at its default
    and its mistakes go to `found`, so that the others (the admins, the owners channel)
    are still checked."""
    path = root / TRELLIS_FILE
    if not path.is_file():
        return TrellisConfig(), None
    doc = load_yaml(path, display_name=TRELLIS_FILE, duplicates_kept=True)
    config, problems = validate_sections(doc, TrellisConfig)
    found.errors.extend([*doc.duplicates, *problems])
    return (config, doc) if config is not None else None


def _load_rules(root: Path, found: Findings) -> tuple[RulesConfig | None, YamlDocument | None]:
    """The rules when they fit the schema, and the file read (its mistakes go to `found`;
    what it names is checked all the same)."""
    path = root / RULES_FILE
    if not path.is_file():
        return RulesConfig(), None
    doc = load_yaml(path, display_name=RULES_FILE, duplicates_kept=True)
    rules, problems = read_rules(doc)
    found.errors.extend([*doc.duplicates, *problems])
    if doc.duplicates:
        return None, doc  # the rules as written are not the rules as read
    return rules, doc


def _load_prompts(root: Path) -> dict[str, str]:
    prompts: dict[str, str] = {}
    for path in _files(root / "prompts", PROMPT_SUFFIXES):
        name = f"prompts/{path.name}"
        if path.stem in prompts:
            raise WorkspaceError(
                name,
                f"another prompt is also called {path.stem!r}; keep one of the .md and .txt files",
            )
        try:
            prompts[path.stem] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise WorkspaceError(name, f"is not UTF-8 text ({exc.reason})") from exc
    return prompts


def _files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix in suffixes
    )


def workspace_version(root: Path) -> str:
    """A hash of the configuration files, stable across machines and line endings."""
    files = [root / TRELLIS_FILE, root / RULES_FILE, *(root / n for n in DIRECTORY_FILES)]
    files += _files(root / "prompts", PROMPT_SUFFIXES) + _files(root / "evals", (".yml",))
    digest = hashlib.sha256()
    for path in sorted((p for p in files if p.is_file()), key=lambda p: p.relative_to(root)):
        content = path.read_bytes().replace(b"\r\n", b"\n")
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()[:12]
