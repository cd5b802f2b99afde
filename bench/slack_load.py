"""A burst of questions sent to Trellis over Socket Mode, measured from outside.

    python3 bench/slack_load.py [--questions 200] [--people 20] [--within 2] [--repeats 3]
                                [--tree PATH[=LABEL[,NAME=VALUE...]] ...] [--echo]
                                [--env NAME=VALUE ...] [--model-stub-seconds S]
                                [--postgres ADMIN_URL]

This process runs the local Slack (app.sandbox): people type questions into their direct
messages with the bot, Slack delivers the events over Socket Mode and serves the Web API.
Each Trellis under test is a separate `trellis run` process (from the source tree given with
`--tree`, the current one by default) that connects to it as it would to Slack, with a fresh
SQLite database and the demo workspace (Northwind, the offline answerer) with people added
until there are `--people` askers. Settings after the label apply to that target only
(`--tree .=c8,TRELLIS_QUESTION_CONCURRENCY=8`), `--env` to every Trellis target. With
`--postgres ADMIN_URL` every Trellis run gets a fresh PostgreSQL database instead, and the
target setting `REPLICAS=N` starts N processes sharing it, each with its Socket Mode
connection (Slack spreads the events over them); CPU is then summed over them. `--echo`
runs a bare Bolt app that acks and replies with the question's text the same way, for
comparison (its throughput is the rate the questions are sent at). Targets take turns
within each repeat.

`--model-stub-seconds S` answers with Claude instead: every Trellis target gets
ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL of the local fake Messages API
(tests/fakes/anthropic_server.py), run in this process, which takes S seconds over each
reply. The real Claude backend and the anthropic SDK make the calls, so the I/O path is the
one used with the real API. A target with `ANTHROPIC_API_KEY=` among its settings stays on
the offline answerer, for comparison in the same run (`--tree .=stub --tree
.=offline,ANTHROPIC_API_KEY=`). During the burst, `model` is the most requests the stub
was answering at once and `calls` the requests it answered (questions the relevance gate
stops are answered without the model).

`--fresh` asks each question once, a number after its text ("... (ref 17)"): without it
the burst repeats the golden questions, and what Trellis keeps from an earlier question
(its embedding, the judge's score) spares their cost.

Measured per question, from the moment the message is posted:
  ack     Slack gets the envelope's acknowledgement
  first   the bot's first message in the question's thread (the thinking indicator)
  final   the thread shows the answer (or an error notice) in place of the indicator
and per burst: throughput (questions answered / time from the first question to the last
answer), the Trellis process's CPU time per question, errors, questions never answered and
questions answered twice. Figures are the medians over the repeats; ratios are against the
first target.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
sys.path.insert(0, str(ROOT))

from app.config.workspace import default_workspace_path, load_workspace  # noqa: E402
from app.sandbox.company import seed_for, user_id_for  # noqa: E402
from app.sandbox.records import Change  # noqa: E402
from app.sandbox.server import SandboxServer  # noqa: E402
from app.sandbox.state import SandboxWorkspace  # noqa: E402
from tests.fakes.anthropic_server import FakeAnthropic  # noqa: E402

THINKING = "Looking through"
FAILED = "Something went wrong"
FIGURES = ("ack_p50", "ack_p99", "first_p50", "first_p95", "final_p50", "final_p95")
ECHO = "echo"


@dataclass
class Asked:
    posted: float
    ack: float | None = None
    first: float | None = None
    final: float | None = None
    bot_posts: int = 0
    failed: bool = False


@dataclass
class Burst:
    asked: dict[str, Asked] = field(default_factory=dict)
    cpu_s: float = 0.0

    def figures(self) -> dict[str, float]:
        def ms(attr: str) -> list[float]:
            return sorted(
                (getattr(a, attr) - a.posted) * 1000
                for a in self.asked.values()
                if getattr(a, attr) is not None
            )

        acks, firsts, finals = ms("ack"), ms("first"), ms("final")
        done = [a for a in self.asked.values() if a.final is not None]
        start = min(a.posted for a in self.asked.values())
        span = max((a.final for a in done if a.final), default=start) - start
        return {
            "ack_p50": _pct(acks, 50),
            "ack_p99": _pct(acks, 99),
            "first_p50": _pct(firsts, 50),
            "first_p95": _pct(firsts, 95),
            "final_p50": _pct(finals, 50),
            "final_p95": _pct(finals, 95),
            "per_s": len(done) / span if span > 0 else 0.0,
            "cpu_ms_per_q": self.cpu_s * 1000 / max(len(done), 1),
            "errors": sum(a.failed for a in done),
            "unanswered": len(self.asked) - len(done),
            "twice": sum(a.bot_posts > 1 for a in self.asked.values()),
        }


def _pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile; nan for no values."""
    if not values:
        return math.nan
    return values[max(0, math.ceil(p / 100 * len(values)) - 1)]


# -- the workspace ---------------------------------------------------------------------------


def prepare_workspace(into: Path, people: int) -> tuple[Path, list[str], list[str]]:
    """The demo workspace with people added until `people` can ask; their emails, and the
    golden questions that have an answer."""
    root = into / "workspace"
    shutil.copytree(default_workspace_path(), root)
    directory_file = root / "directory.yml"
    directory = yaml.safe_load(directory_file.read_text())
    emails = [p["email"] for p in directory["people"]]
    for n in range(len(emails), people):
        email = f"asker{n:02d}@northwind.example"
        directory["people"].append(
            {
                "email": email,
                "name": f"Asker {n:02d}",
                "employee_id": f"NW-9{n:03d}",
                "title": "Customer Support Specialist",
                "department": "Support",
                "groups": ["support"],
                "region": "NA",
            }
        )
        emails.append(email)
    directory_file.write_text(yaml.safe_dump(directory, sort_keys=False))
    golden = yaml.safe_load((root / "evals" / "golden.yml").read_text())
    questions = [c["question"] for c in golden["cases"] if c.get("expect_status") == "answered"]
    return root, emails[:people], questions


# -- the apps under test ----------------------------------------------------------------------


async def start_app(
    tree: Path | None, sandbox: SandboxServer, workdir: Path, workspace: Path, env: dict[str, str]
) -> asyncio.subprocess.Process:
    """`trellis run` from `tree` (or the echo app when `tree` is None), connected to `sandbox`."""
    environ = {
        **os.environ,
        "SLACK_BOT_TOKEN": sandbox.bot_token,
        "SLACK_APP_TOKEN": sandbox.app_token,
        "TRELLIS_SLACK_API_URL": sandbox.api_url,
        "TRELLIS_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'trellis.db'}",
        "TRELLIS_WORKSPACE": str(workspace),
        "TRELLIS_HTTP_PORT": "0",
        "TRELLIS_LOG_LEVEL": "WARNING",
        # A burst is many questions a minute from each person: no quotas unless set.
        "TRELLIS_QUESTIONS_PER_MINUTE": "0",
        "TRELLIS_WORKSPACE_QUESTIONS_PER_MINUTE": "0",
        **env,
    }
    if tree is None:
        command = [sys.executable, str(SCRIPT), "--serve-echo"]
        environ["PYTHONPATH"] = str(ROOT)
    else:
        command = [sys.executable, "-c", "from app.cli.main import main; main()", "run"]
        environ["PYTHONPATH"] = str(tree)
    return await asyncio.create_subprocess_exec(
        *command,
        cwd=tree or ROOT,
        env=environ,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=(workdir / "app.log").open("w"),
    )


async def stop_app(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def serve_echo() -> None:
    """A bare Bolt app: acks every event and answers a person's message with its text."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(
        token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["TRELLIS_SLACK_API_URL"]
    )
    app = AsyncApp(client=client)

    @app.event("message")
    async def echo(event: dict[str, Any], say: Any) -> None:
        if not event.get("bot_id") and not event.get("subtype"):
            await say(text=event.get("text", ""), thread_ts=event["ts"])

    handler = AsyncSocketModeHandler(app, os.environ["SLACK_APP_TOKEN"])
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
    await handler.connect_async()
    await stop.wait()
    await handler.close_async()


# -- one burst --------------------------------------------------------------------------------


async def ask_all(
    sandbox: SandboxServer,
    people: list[str],
    questions: list[str],
    *,
    count: int,
    within: float,
    wait_s: float,
) -> Burst:
    burst = Burst()
    everything_answered = asyncio.Event()
    acks: set[asyncio.Task[None]] = set()

    def on_change(change: Change) -> None:
        message = change.message
        if change.kind not in ("message_posted", "message_changed") or message is None:
            return
        asked = burst.asked.get(message.thread_ts or "")
        if message.bot_id is None or asked is None:
            return
        now = time.perf_counter()
        if change.kind == "message_posted":
            asked.bot_posts += 1
            asked.first = asked.first or now
        text = message.text or ""
        # An answer streamed in DMs starts empty and is final once its stream stops.
        done = bool(text) and THINKING not in text and not message.streaming
        if done and asked.final is None:
            asked.final, asked.failed = now, FAILED in text
            if len(burst.asked) == count and all(a.final for a in burst.asked.values()):
                everything_answered.set()

    async def acked(asked: Asked, delivery: Any) -> None:
        if await delivery.wait() is not None:
            asked.ack = time.perf_counter()

    unsubscribe = sandbox.workspace.subscribe(on_change)
    bot = sandbox.workspace.bot.user_id
    start = time.perf_counter()
    try:
        for n in range(count):
            await asyncio.sleep(max(0.0, start + n * within / count - time.perf_counter()))
            sent = len(sandbox.gateway.deliveries)
            posted = time.perf_counter()
            ts = await sandbox.post_message(
                people[n % len(people)], bot, questions[n % len(questions)]
            )
            burst.asked[ts] = asked = Asked(posted)
            for delivery in sandbox.gateway.deliveries[sent:]:
                task = asyncio.create_task(acked(asked, delivery))
                acks.add(task)
                task.add_done_callback(acks.discard)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(everything_answered.wait(), wait_s)
    finally:
        unsubscribe()
        for task in acks:
            task.cancel()
    return burst


async def one_run(
    label: str,
    tree: Path | None,
    args: argparse.Namespace,
    workspace: Path,
    people: list[str],
    questions: list[str],
    env: dict[str, str],
    stub: FakeAnthropic | None = None,
) -> dict[str, float]:
    if stub is not None and tree is not None:
        env = {"ANTHROPIC_API_KEY": stub.api_key, "ANTHROPIC_BASE_URL": stub.base_url, **env}
    env = dict(env)
    replicas = int(env.pop(REPLICAS, "1"))
    with (
        tempfile.TemporaryDirectory(prefix="trellis-load-") as tmp,
        postgres_database(args.postgres if tree is not None else None) as database_url,
    ):
        workdir = Path(tmp)
        if database_url:
            env["TRELLIS_DATABASE_URL"] = database_url
        seed = seed_for(load_workspace(workspace))
        async with SandboxServer(SandboxWorkspace.from_seed(seed)) as sandbox:
            askers = [user_id_for(email) for email in people]
            processes: list[asyncio.subprocess.Process] = []
            try:
                # One after the other: the first migrates and ingests, the others find it done.
                for n in range(replicas if tree is not None else 1):
                    (workdir / str(n)).mkdir()
                    processes.append(
                        await start_app(tree, sandbox, workdir / str(n), workspace, env)
                    )
                    await sandbox.wait_for_connections(n + 1, timeout=args.start_timeout)
                # Warm up: a few answered questions before the clock starts.
                await ask_all(sandbox, askers, questions, count=3, within=0.0, wait_s=60)
                if stub is not None:
                    stub.most_in_flight, calls_before = stub.in_flight, len(stub.message_requests)
                before = sum(cpu_seconds(p.pid) for p in processes)
                burst = await ask_all(
                    sandbox,
                    askers,
                    [f"{q} (ref {n})" for n, q in enumerate(questions * args.questions)]
                    if args.fresh
                    else questions,
                    count=args.questions,
                    within=args.within,
                    wait_s=args.timeout,
                )
                burst.cpu_s = sum(cpu_seconds(p.pid) for p in processes) - before
            except TimeoutError:
                log = (workdir / str(len(processes) - 1) / "app.log").read_text()[-3000:]
                raise SystemExit(f"{label} did not connect:\n{log}") from None
            finally:
                for process in processes:
                    await stop_app(process)
    figures = burst.figures()
    if stub is not None and tree is not None:
        figures["model"] = stub.most_in_flight
        figures["calls"] = len(stub.message_requests) - calls_before
    return figures


REPLICAS = "REPLICAS"
"""A target setting: how many `trellis run` processes share the burst (with `--postgres`)."""


@contextlib.contextmanager
def postgres_database(admin_url: str | None) -> Any:
    """A fresh PostgreSQL database for one run (dropped after), or None without `--postgres`."""
    if admin_url is None:
        yield None
        return
    import asyncpg  # the PostgreSQL driver Trellis installs

    admin = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    name = f"trellis_load_{os.getpid()}_{time.monotonic_ns()}"

    async def run(statement: str) -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    def in_thread(statement: str) -> None:  # the caller's event loop is busy awaiting us
        import threading

        thread = threading.Thread(target=lambda: asyncio.run(run(statement)))
        thread.start()
        thread.join()

    in_thread(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    try:
        yield f"postgresql+asyncpg://{base.split('://', 1)[1]}/{name}"
    finally:
        in_thread(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _row(label: str, figures: dict[str, float]) -> str:
    cells = " ".join(f"{figures[k]:>9.1f}" for k in FIGURES)
    return (
        f"{label:<16} {cells} {figures['per_s']:>6.1f} {figures['cpu_ms_per_q']:>6.1f} "
        f"{figures['errors']:>4.0f} {figures['unanswered']:>4.0f} {figures['twice']:>4.0f}"
        + (f" {figures['model']:>5.0f} {figures['calls']:>5.0f}" if "model" in figures else "")
    )


HEADER = (
    f"{'target':<16} " + " ".join(f"{k:>9}" for k in FIGURES) + "    q/s cpu ms  err lost twice"
)


Target = tuple[str, Path | None, dict[str, str]]
"""A label, the source tree (None: the echo app) and the settings of its runs."""


def targets_of(args: argparse.Namespace) -> list[Target]:
    targets: list[Target] = []
    common = dict(item.split("=", 1) for item in args.env)
    for spec in args.tree or [str(ROOT)]:
        path, _, rest = spec.partition("=")
        label, *settings = rest.split(",") if rest else [""]
        env = {**common, **dict(item.split("=", 1) for item in settings)}
        targets.append((label or Path(path).resolve().name, Path(path).resolve(), env))
    if args.echo:
        targets.append((ECHO, None, {}))
    return targets


async def with_model_stub(args: argparse.Namespace, targets: list[Target]) -> None:
    """`main`, with the fake Messages API taking `--model-stub-seconds` over each reply."""
    async with FakeAnthropic(latency_s=args.model_stub_seconds) as stub:
        print(f"model: the Claude backend, the stub answering in {args.model_stub_seconds} s")
        await main(args, targets, stub)


async def main(
    args: argparse.Namespace, targets: list[Target], stub: FakeAnthropic | None = None
) -> None:
    header = HEADER + ("  model calls" if stub is not None else "")
    results: dict[str, list[dict[str, float]]] = {label: [] for label, _, _ in targets}
    with tempfile.TemporaryDirectory(prefix="trellis-load-ws-") as tmp:
        workspace, people, questions = prepare_workspace(Path(tmp), args.people)
        print(
            f"{args.questions} questions from {len(people)} people within {args.within} s, "
            f"{args.repeats} repeat(s); times in ms from the question's post"
        )
        print(header)
        for repeat in range(args.repeats):
            for label, tree, env in targets:
                figures = await one_run(label, tree, args, workspace, people, questions, env, stub)
                results[label].append(figures)
                print(_row(f"{label} #{repeat + 1}", figures), flush=True)
    medians = {
        label: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        for label, runs in results.items()
    }
    print("\nmedians")
    print(header)
    for label, figures in medians.items():
        print(_row(label, figures))
    first = targets[0][0]
    for label, figures in medians.items():
        if label == first:
            continue
        ratios = {
            k: figures[k] / medians[first][k]
            for k in (*FIGURES, "per_s", "cpu_ms_per_q")
            if medians[first][k]
        }
        print(f"\n{label} / {first}: " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--within", type=float, default=2.0, help="seconds to send them in")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--tree",
        action="append",
        help="a Trellis source tree: PATH, PATH=LABEL or PATH=LABEL,NAME=VALUE,... (repeatable)",
    )
    parser.add_argument("--echo", action="store_true", help="also run a bare Bolt echo app")
    parser.add_argument(
        "--env", action="append", default=[], help="NAME=VALUE for every Trellis run"
    )
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for answers")
    parser.add_argument("--start-timeout", type=float, default=180)
    parser.add_argument(
        "--model-stub-seconds",
        type=float,
        metavar="S",
        help="answer with Claude against a local fake Messages API taking S s over each reply",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run Trellis on PostgreSQL: a fresh database per run, created and dropped through "
        "this admin URL (e.g. postgresql://postgres@127.0.0.1:5432/postgres); a target setting "
        "REPLICAS=N starts N processes on it",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="ask each question once: a number after its text, so nothing kept from an earlier "
        "question (its embedding, the judge's score) serves it",
    )
    parser.add_argument("--serve-echo", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.serve_echo:
        asyncio.run(serve_echo())
    elif arguments.model_stub_seconds is not None:
        asyncio.run(with_model_stub(arguments, targets_of(arguments)))
    else:
        asyncio.run(main(arguments, targets_of(arguments)))
