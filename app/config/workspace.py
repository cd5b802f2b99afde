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
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.config.directory import Directory, invalid, normalize_email
from app.config.yamlfile import Loc, YamlDocument, load_yaml, validate
from app.errors import WorkspaceError
from app.knowledge.access_rules import ACCESS_FILE, display_name, normalize_principal
from app.rules.loading import parse_rules
from app.rules.rulebook import RuleBook
from app.rules.schema import Principal, RulesConfig

TRELLIS_FILE = "trellis.yml"
RULES_FILE = "rules.yml"
SANDBOX_FILE = "sandbox.yml"
DIRECTORY_FILES = ("directory.yml", "directory.csv")
PROMPT_SUFFIXES = (".md", ".txt")


def default_workspace_path() -> Path:
    """The demo workspace bundled with the package."""
    return Path(__file__).resolve().parent.parent / "demo" / "workspace"


# --- trellis.yml ----------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnswersConfig(_Strict):
    min_confidence: float = Field(default=0.5, ge=0, le=1)
    """The gate's threshold: the least probability of being right an answer needs."""
    max_sources: int = Field(default=5, ge=1, le=50)


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


# --- evals/ ---------------------------------------------------------------------------


class EvalCase(_Strict):
    """One golden question and what a correct run looks like."""

    id: str
    question: str
    asker: str
    channel: str | None = None
    expect_status: Literal["answered", "no_answer", "refused", "needs_approval"]
    expect_sources: list[str] = []

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


class EvalFile(_Strict):
    cases: list[EvalCase]


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


def load_workspace(path: Path) -> Workspace:
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise WorkspaceError(str(path), "the workspace folder does not exist")

    directory_path = _directory_file(root)
    directory = Directory.load(directory_path, display_name=directory_path.name)
    knowledge_dir = root / "knowledge"
    if not knowledge_dir.is_dir():
        raise WorkspaceError(
            "knowledge/",
            "missing: create knowledge/ and put the documents Trellis may answer from in it",
        )

    config, config_doc = _load_config(root)
    rules, rules_doc = _load_rules(root)
    prompts = _load_prompts(root)
    evals = _load_evals(root)
    sandbox = _load_sandbox(root)

    if config_doc is not None:
        _check_principals(config_doc, config.principal_refs(), directory, directory_path.name)
    for access_doc, refs in _access_principals(knowledge_dir, root):
        _check_principals(access_doc, refs, directory, directory_path.name)
    if rules_doc is not None:
        _check_principals(rules_doc, rules.principal_refs(), directory, directory_path.name)
        for loc, name in rules.prompt_refs():
            if name not in prompts:
                raise rules_doc.error(
                    loc, f"{_dotted(loc)}: there is no prompts/{name}.md (or .txt)"
                )

    return Workspace(
        root=root,
        config=config,
        directory=directory,
        rules=rules,
        rulebook=RuleBook(rules, directory),
        prompts=prompts,
        evals=evals,
        sandbox=sandbox,
        knowledge_dir=knowledge_dir,
        version=workspace_version(root),
    )


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


def _load_config(root: Path) -> tuple[TrellisConfig, YamlDocument | None]:
    path = root / TRELLIS_FILE
    if not path.is_file():
        return TrellisConfig(), None
    doc = load_yaml(path, display_name=TRELLIS_FILE)
    return validate(doc, TrellisConfig), doc


def _load_rules(root: Path) -> tuple[RulesConfig, YamlDocument | None]:
    path = root / RULES_FILE
    if not path.is_file():
        return RulesConfig(), None
    doc = load_yaml(path, display_name=RULES_FILE)
    return parse_rules(doc), doc


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


def _load_evals(root: Path) -> tuple[EvalCase, ...]:
    cases: list[EvalCase] = []
    seen: dict[str, str] = {}
    for path in _files(root / "evals", (".yml",)):
        name = f"evals/{path.name}"
        doc = load_yaml(path, display_name=name)
        parsed = validate(doc, EvalFile)
        for i, case in enumerate(parsed.cases):
            if case.id in seen:
                raise doc.error(
                    ("cases", i, "id"),
                    f"cases.{i}.id: {case.id!r} is already used in {seen[case.id]}",
                )
            seen[case.id] = name
            cases.append(case)
    return tuple(cases)


def _load_sandbox(root: Path) -> dict[str, Any] | None:
    path = root / SANDBOX_FILE
    if not path.is_file():
        return None
    doc = load_yaml(path, display_name=SANDBOX_FILE)
    if not isinstance(doc.data, dict):
        raise doc.error((), "expected keys such as team, users and channels")
    return doc.data


def _files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix in suffixes
    )


def _access_principals(
    knowledge_dir: Path, root: Path
) -> Iterator[tuple[YamlDocument, Iterator[tuple[Loc, str]]]]:
    """Every principal named in the `_access.yml` files, with where it is written. Files
    that do not parse are left to ingest, which reports them and keeps what they governed."""
    for path in sorted(knowledge_dir.rglob(ACCESS_FILE)):
        if any(part.startswith(".") for part in path.relative_to(knowledge_dir).parts):
            continue
        try:
            doc = load_yaml(path, display_name=display_name(path, root))
        except WorkspaceError:
            continue
        data = doc.data if isinstance(doc.data, dict) else {}

        def refs(data: dict[Any, Any] = data) -> Iterator[tuple[Loc, str]]:
            default = data.get("default")
            if isinstance(default, str):
                yield ("default",), _as_principal(default)
            elif isinstance(default, list):
                for i, principal in enumerate(default):
                    yield ("default", i), _as_principal(principal)
            files = data.get("files")
            for pattern, principals in files.items() if isinstance(files, dict) else ():
                items = [principals] if isinstance(principals, str) else principals
                for i, principal in enumerate(items if isinstance(items, list) else ()):
                    loc = (
                        ("files", pattern) if isinstance(principals, str) else ("files", pattern, i)
                    )
                    yield loc, _as_principal(principal)

        yield doc, refs()


def _as_principal(value: object) -> str:
    try:
        return normalize_principal(value)
    except ValueError:
        return str(value)


def _check_principals(
    doc: YamlDocument, refs: Iterator[tuple[Loc, str]], directory: Directory, directory_name: str
) -> None:
    for loc, principal in refs:
        if loc not in doc.lines or directory.knows_principal(principal):
            continue
        if "@" in principal:
            problem = f"{principal} is not in {directory_name}"
        else:
            problem = (
                f"{principal!r} is not a group in {directory_name}, an email of someone "
                f"in it, 'everyone' or 'public'"
            )
            close = difflib.get_close_matches(principal, sorted(directory.groups), n=1)
            if close:
                problem += f" (did you mean {close[0]!r}?)"
        raise doc.error(loc, f"{_dotted(loc)}: {problem}")


def _dotted(loc: Loc) -> str:
    return ".".join(str(p) for p in loc)


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
