"""Who may read which document, worked out from the workspace's own files, and a check that
nothing shown to a person quotes, names or links a document they may not read.

`Catalog.load` takes the documents as the index holds them (id, path, title, link, text) and
decides each one's readers from directory.yml, the `_access.yml` files and the front matter,
following the rules as written (front matter first, then the nearest folder's `files` globs
in order, then its `default`; no rule at all means nobody), without calling app/identity or
app/knowledge. `Catalog.mismatches` compares that reading with the access the index stored.

`LeakCheck.check` is given something shown and who sees it, and records a `Leak` for every
reader who is shown, from a document they may not read:
- six words in a row, or a whole sentence of four or five words, that no document they may
  read also contains,
- its title (unless a document they may read says the same words), its id or its link.

`SandboxObserver` hands `LeakCheck` everything the bot puts in a sandbox as it happens:
messages and their edits (read by every human member of the conversation), ephemerals,
modals and App Home tabs (read by one person each).
"""

from __future__ import annotations

import html
import json
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from sqlalchemy import select

from app.db.models.knowledge import Chunk, Document, DocumentAccess
from app.db.session import Database
from app.sandbox.records import Change
from app.sandbox.server import SandboxServer

EVERYONE, PUBLIC = "everyone", "public"
SPAN = 6
"""Words in a row that identify a passage of a document."""
SHORT = 4
"""A sentence of at least this many words (and fewer than SPAN) counts whole."""
WORD = re.compile(r"[^\W_]+")
SENTENCE_BREAK = re.compile(r"(?<=[.!?:;])\s+|\n+")
OUTSIDER = frozenset({PUBLIC})


def words(text: str) -> tuple[str, ...]:
    """Lower-cased words and numbers, markup and punctuation dropped (`&amp;` is `&`)."""
    return tuple(WORD.findall(html.unescape(text).lower()))


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_BREAK.split(text) if s.strip()]


def ngrams(tokens: tuple[str, ...], size: int) -> Iterator[tuple[str, ...]]:
    for start in range(len(tokens) - size + 1):
        yield tokens[start : start + size]


def strings_in(value: Any) -> Iterator[str]:
    """Every string in a Block Kit payload (texts, button values, options, links…)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_in(item)


# --- The rules, read from the files ------------------------------------------------------


def _principals(value: Any) -> frozenset[str]:
    items = [value] if isinstance(value, str) else list(value or ())
    return frozenset(p.strip().lower() if "@" in p else p.strip() for p in items)


def read_directory(root: Path) -> dict[str, frozenset[str]]:
    """Each person's principals by email: their email, their groups, `everyone`, `public`."""
    people = yaml.safe_load((root / "directory.yml").read_text(encoding="utf-8"))["people"]
    found = {}
    for entry in people:
        email = entry["email"].strip().lower()
        found[email] = frozenset({email, EVERYONE, PUBLIC, *(entry.get("groups") or ())})
    return found


def _front_matter(path: Path) -> dict[str, Any]:
    if path.suffix.lower() not in (".md", ".markdown"):
        return {}
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    return yaml.safe_load("\n".join(lines[1:end])) or {}


def access_from_files(knowledge: Path, relative: str) -> frozenset[str]:
    """Who may read the document at `relative` (posix, under `knowledge/`)."""
    front = _front_matter(knowledge / relative)
    if "access" in front:
        return _principals(front["access"])
    document = PurePosixPath(relative)
    folder = document.parent
    while True:
        rules_file = knowledge / folder / "_access.yml"
        if rules_file.is_file():
            rules = yaml.safe_load(rules_file.read_text(encoding="utf-8")) or {}
            inside = document.relative_to(folder).as_posix()
            for pattern, principals in (rules.get("files") or {}).items():
                if fnmatchcase(inside, pattern):
                    return _principals(principals)
            if rules.get("default") is not None:
                return _principals(rules["default"])
        if folder == PurePosixPath("."):
            return frozenset()
        folder = folder.parent


# --- The documents -----------------------------------------------------------------------


@dataclass(frozen=True)
class Doc:
    id: str
    path: str
    title: str
    url: str | None
    access: frozenset[str]
    """As read from the files here."""
    indexed_access: frozenset[str]
    passages: tuple[str, ...]
    """Each chunk's heading and text, as the index holds them."""

    def readable_by(self, principals: frozenset[str]) -> bool:
        return bool(self.access & principals)

    def sentences(self) -> list[str]:
        return [s for p in self.passages for s in sentences(p)]


@dataclass
class Catalog:
    docs: dict[str, Doc]
    people: dict[str, frozenset[str]]

    @classmethod
    async def load(cls, database: Database, root: Path) -> Catalog:
        async with database.session() as session:
            rows = (await session.execute(select(Document))).scalars().all()
            grants = (await session.execute(select(DocumentAccess))).scalars().all()
            chunks = (
                await session.execute(
                    select(Chunk.doc_id, Chunk.heading, Chunk.text).order_by(
                        Chunk.doc_id, Chunk.ordinal
                    )
                )
            ).all()
        stored: dict[str, set[str]] = {}
        for grant in grants:
            stored.setdefault(grant.doc_id, set()).add(grant.principal)
        texts: dict[str, list[str]] = {}
        for doc_id, heading, text in chunks:
            texts.setdefault(doc_id, []).extend(t for t in (heading, text) if t)
        docs = {
            row.id: Doc(
                id=row.id,
                path=row.path,
                title=row.title,
                url=row.url,
                access=access_from_files(root / "knowledge", row.path),
                indexed_access=frozenset(stored.get(row.id, ())),
                passages=tuple(texts.get(row.id, ())),
            )
            for row in rows
        }
        return cls(docs, read_directory(root))

    def principals(self, email: str | None) -> frozenset[str]:
        """A person in the directory by their principals; anyone else may read `public`."""
        return self.people.get((email or "").lower(), OUTSIDER)

    def mismatches(self) -> list[str]:
        return [
            f"{d.id}: the files say {sorted(d.access)}, the index {sorted(d.indexed_access)}"
            for d in self.docs.values()
            if d.access != d.indexed_access
        ]

    def hidden_from(self, principals: frozenset[str]) -> list[Doc]:
        return [d for d in self.docs.values() if not d.readable_by(principals)]


# --- The check ---------------------------------------------------------------------------


def _phrases(doc: Doc) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for passage in doc.passages:
        found.update(ngrams(words(passage), SPAN))
        for sentence in sentences(passage):
            tokens = words(sentence)
            if SHORT <= len(tokens) < SPAN:
                found.add(tokens)
    return found


def _stream(doc: Doc) -> tuple[str, ...]:
    return words(" \n ".join((doc.title, *doc.passages)))


@dataclass(frozen=True)
class _Hidden:
    """What one reader may not be shown: phrase -> document, and id/link patterns."""

    phrases: dict[tuple[str, ...], tuple[str, str]]
    lengths: frozenset[int]
    names: list[tuple[re.Pattern[str], str, str]]


@dataclass(frozen=True)
class Leak:
    surface: str
    reader: str
    kind: str
    doc_id: str
    shown: str

    def __str__(self) -> str:
        return f"[{self.surface}] {self.reader} was shown the {self.kind} of {self.doc_id}: {self.shown!r}"


@dataclass
class LeakCheck:
    catalog: Catalog
    leaks: list[Leak] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)
    """Things shown, by surface."""
    sensitive: Counter[str] = field(default_factory=Counter)
    """Things shown, by surface, that quote or name a document not everyone may read."""
    _cache: dict[frozenset[str], _Hidden] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._phrases = {d.id: _phrases(d) for d in self.catalog.docs.values()}
        self._streams = {d.id: _stream(d) for d in self.catalog.docs.values()}
        self._everyone = frozenset({EVERYONE, PUBLIC})

    def every_phrase(self) -> set[tuple[str, ...]]:
        """The phrases and titles of every document: what no question may contain."""
        titles = {words(d.title) for d in self.catalog.docs.values()}
        return set().union(*self._phrases.values()) | {t for t in titles if t}

    def _hidden(self, principals: frozenset[str]) -> _Hidden:
        cached = self._cache.get(principals)
        if cached is not None:
            return cached
        docs = self.catalog.docs.values()
        readable = [d.id for d in docs if d.readable_by(principals)]
        seen: set[tuple[str, ...]] = set().union(*(self._phrases[d] for d in readable))
        phrases: dict[tuple[str, ...], tuple[str, str]] = {}
        names: list[tuple[re.Pattern[str], str, str]] = []
        for doc in self.catalog.hidden_from(principals):
            for phrase in self._phrases[doc.id] - seen:
                phrases.setdefault(phrase, (doc.id, "text"))
            title = words(doc.title)
            said = any(
                title in set(ngrams(self._streams[d], len(title))) for d in readable if title
            )
            if len(title) >= 2 and not said:
                phrases.setdefault(title, (doc.id, "title"))
            for kind, name in (("id", doc.id), ("link", doc.url)):
                if name:
                    pattern = re.compile(rf"(?<![\w/-]){re.escape(name.lower())}(?![\w/-])")
                    names.append((pattern, doc.id, kind))
        hidden = _Hidden(phrases, frozenset(len(p) for p in phrases), names)
        self._cache[principals] = hidden
        return hidden

    def check(
        self, *, surface: str, readers: Iterable[tuple[str, frozenset[str]]], shown: Iterable[str]
    ) -> list[Leak]:
        """Record and return what `readers` ((name, principals) pairs) may not be shown."""
        strings = [s for s in shown if s]
        tokenized = [words(s) for s in strings]
        raw = "\n".join(strings).lower()
        grams: dict[int, set[tuple[str, ...]]] = {}
        by_principals: dict[frozenset[str], list[str]] = {}
        for name, principals in readers:
            by_principals.setdefault(principals, []).append(name)
        self.checked[surface] += 1
        found: list[Leak] = []

        def hits_for(principals: frozenset[str]) -> dict[tuple[str, str], str]:
            hidden = self._hidden(principals)
            hits: dict[tuple[str, str], str] = {}
            for size in hidden.lengths:
                if size not in grams:
                    grams[size] = {p for tokens in tokenized for p in ngrams(tokens, size)}
                for phrase in grams[size] & hidden.phrases.keys():
                    hits.setdefault(hidden.phrases[phrase], " ".join(phrase))
            for pattern, doc_id, kind in hidden.names:
                match = pattern.search(raw)
                if match:
                    hits.setdefault((doc_id, kind), match.group(0))
            return hits

        for principals, names in by_principals.items():
            hits = hits_for(principals)
            for name in sorted(set(names)):
                found.extend(Leak(surface, name, kind, d, s) for (d, kind), s in hits.items())
        self.sensitive[surface] += bool(hits_for(self._everyone))
        self.leaks.extend(found)
        return found


# --- What the bot shows in the sandbox ----------------------------------------------------

THINKING = "Looking through the documents"


@dataclass(frozen=True)
class Shown:
    kind: str
    """message, ephemeral, view or home."""
    channel: str | None
    ts: str | None
    thread_ts: str | None
    users: tuple[str, ...]
    text: str
    payload: Any
    surface: str
    streaming: bool = False
    """A streamed message whose stream has not stopped yet."""

    @property
    def strings(self) -> list[str]:
        return [self.text, *strings_in(self.payload)]

    @property
    def final(self) -> bool:
        return THINKING not in self.text and not self.streaming

    def has_button(self, action_id: str, value: str | None = None) -> bool:
        return any(
            isinstance(e, dict)
            and e.get("action_id") == action_id
            and (value is None or e.get("value") == value)
            for b in (self.payload if isinstance(self.payload, list) else [])
            for e in (b.get("elements") or [] if isinstance(b, dict) else [])
        )


class SandboxObserver:
    """Checks everything the bot shows in `sandbox`, as it is shown, under `surface`."""

    def __init__(self, sandbox: SandboxServer, check: LeakCheck) -> None:
        self.sandbox = sandbox
        self.state = sandbox.workspace
        self.check = check
        self.surface = "start"
        self.shown: list[Shown] = []
        self.stop = self.state.subscribe(self._on_change)

    def reader(self, user_id: str) -> tuple[str, frozenset[str]]:
        user = self.state.user(user_id)
        email = user.email if user else None
        return email or user_id, self.check.catalog.principals(email)

    def _humans(self, channel: str) -> tuple[str, ...]:
        conversation = self.state.conversation(channel)
        members = conversation.members if conversation else []
        return tuple(m for m in members if not (u := self.state.user(m)) or not u.is_bot)

    def _on_change(self, change: Change) -> None:
        shown: Shown | None = None
        bot = self.state.bot
        message, ephemeral, view = change.message, change.ephemeral, change.view
        if change.kind in ("message_posted", "message_changed") and message is not None:
            if message.user == bot.user_id or message.bot_id == bot.bot_id:
                users = self._humans(message.channel)
                payload = json.loads(json.dumps(message.blocks or []))
                shown = Shown(
                    "message",
                    message.channel,
                    message.ts,
                    message.thread_ts,
                    users,
                    message.text or "",
                    payload,
                    self.surface,
                    message.streaming,
                )
        elif change.kind in ("ephemeral_posted", "ephemeral_changed") and ephemeral is not None:
            payload = json.loads(json.dumps(ephemeral.blocks or []))
            shown = Shown(
                "ephemeral",
                ephemeral.channel,
                ephemeral.ts,
                ephemeral.thread_ts,
                (ephemeral.user,),
                ephemeral.text or "",
                payload,
                self.surface,
            )
        elif change.kind in ("view_opened", "view_updated", "home_published") and view:
            kind = "home" if change.kind == "home_published" else "view"
            spec = json.loads(json.dumps(view.spec))
            shown = Shown(kind, None, view.id, None, (view.user,), "", spec, self.surface)
        if shown is None:
            return
        self.shown.append(shown)
        self.check.check(
            surface=self.surface, readers=[self.reader(u) for u in shown.users], shown=shown.strings
        )

    def mark(self) -> int:
        return len(self.shown)

    async def wait(
        self, since: int, wanted: Callable[[Shown], bool], *, what: str, within: float = 30
    ) -> Shown:
        """The first thing shown after `since` for which `wanted` holds."""

        def find() -> Shown | None:
            return next((s for s in self.shown[since:] if wanted(s)), None)

        return await self.sandbox.wait_until(find, within, what)


# --- Questions drawn from the documents ---------------------------------------------------

FRAMES = (
    "What does it say about {a}?",
    "{a} {b}?",
    "What about {a} and {b}?",
    "Can you tell me about {a}, {b}?",
    "How does {a} work with {b}?",
    "{a}: what applies?",
)
RAW_WORD = re.compile(r"[^\W_]+(?:[.,'’-][^\W_]+)*")


class QuestionMaker:
    """Questions built from a sentence of a document: a few of its words, never six in a row
    of any document (nor a title or a whole short sentence), so whatever Trellis repeats of
    the question is never mistaken for a document's text."""

    def __init__(self, check: LeakCheck, rng: random.Random) -> None:
        self.rng = rng
        self.docs = sorted(check.catalog.docs.values(), key=lambda d: d.id)
        self.forbidden = check.every_phrase()
        self.sizes = {len(p) for p in self.forbidden}

    def _clean(self, text: str) -> bool:
        tokens = words(text)
        return all(p not in self.forbidden for n in self.sizes for p in ngrams(tokens, n))

    def draw(self, doc: Doc | None = None) -> tuple[Doc, str]:
        doc = doc or self.rng.choice(self.docs)
        candidates = [s for s in doc.sentences() if len(RAW_WORD.findall(s)) >= 3]
        sentence = self.rng.choice(candidates or [doc.title])
        raw = RAW_WORD.findall(sentence) or [doc.id]
        for _ in range(30):
            a = self._window(raw)
            b = self._window(raw)
            text = self.rng.choice(FRAMES).format(a=a, b=b).replace('"', "")
            if self._clean(text):
                return doc, text
        return doc, "What else should I know?"

    def _window(self, raw: list[str]) -> str:
        size = self.rng.randint(1, min(3, len(raw)))
        start = self.rng.randrange(len(raw) - size + 1)
        return " ".join(raw[start : start + size])
