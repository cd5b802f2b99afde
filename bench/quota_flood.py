"""Other people's answers while one person floods Trellis with questions.

    python3 bench/quota_flood.py [--flood 300] [--within 10] [--others 40] [--repeats 3]

The same set-up as bench/slack_load.py: this process runs the local Slack (app.sandbox),
people ask in their direct messages with the bot, and Trellis is a separate `trellis run`
process (the demo workspace, the offline answerer, a fresh SQLite database). Each repeat
runs two Trellis processes in turn: one with the default quotas (10 a minute per person,
240 per workspace), one with them turned off
(`TRELLIS_QUESTIONS_PER_MINUTE=0`, `TRELLIS_WORKSPACE_QUESTIONS_PER_MINUTE=0`). In each,
`--others` questions from other people are sent over four seconds twice, alone and again
while one person sends `--flood` questions within `--within` seconds (the two in turn,
the order swapped every repeat). Printed: the others' time to their final answer (p50,
p95, ms from the question's post) alone and during the flood, how many of the flooder's
questions were answered and declined, and the medians over the repeats.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve()
sys.path.insert(0, str(SCRIPT.parent))
sys.path.insert(0, str(SCRIPT.parent.parent))

from slack_load import THINKING, _pct, prepare_workspace, start_app, stop_app  # noqa: E402

from app.config.workspace import load_workspace  # noqa: E402
from app.sandbox.company import seed_for, user_id_for  # noqa: E402
from app.sandbox.records import Change  # noqa: E402
from app.sandbox.server import SandboxServer  # noqa: E402
from app.sandbox.state import SandboxWorkspace  # noqa: E402

DECLINED = "Please ask it again"
Schedule = list[tuple[float, str, str, bool]]
"""When (seconds from the start), who, what, and whether it is the flooder."""
OTHERS_WITHIN = 4.0
TARGETS = {
    "quotas": {
        "TRELLIS_QUESTIONS_PER_MINUTE": "10",
        "TRELLIS_WORKSPACE_QUESTIONS_PER_MINUTE": "240",
    },
    "no quotas": {
        "TRELLIS_QUESTIONS_PER_MINUTE": "0",
        "TRELLIS_WORKSPACE_QUESTIONS_PER_MINUTE": "0",
    },
}


async def ask(
    sandbox: SandboxServer, schedule: Schedule, *, wait_s: float
) -> dict[str, list[float]]:
    """Post (offset seconds, person, question, is the flooder) in time; each question's
    time to its final reply (ms), split into "others", "flood answered", "flood declined"."""
    posted: dict[str, tuple[float, bool]] = {}
    finals: dict[str, tuple[float, bool]] = {}
    done = asyncio.Event()

    def on_change(change: Change) -> None:
        message = change.message
        if change.kind not in ("message_posted", "message_changed") or message is None:
            return
        ts = message.thread_ts or ""
        if message.bot_id is None or ts not in posted or ts in finals:
            return
        text = message.text or ""
        if THINKING in text:
            return
        finals[ts] = (time.perf_counter(), DECLINED in text)
        if len(finals) == len(schedule):
            done.set()

    unsubscribe = sandbox.workspace.subscribe(on_change)
    bot = sandbox.workspace.bot.user_id
    start = time.perf_counter()
    try:
        for offset, person, question, flooder in sorted(schedule):
            await asyncio.sleep(max(0.0, start + offset - time.perf_counter()))
            sent = time.perf_counter()
            ts = await sandbox.post_message(person, bot, question)
            posted[ts] = (sent, flooder)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), wait_s)
    finally:
        unsubscribe()
    split: dict[str, list[float]] = {"others": [], "flood answered": [], "flood declined": []}
    for ts, (sent, flooder) in posted.items():
        if ts not in finals:
            continue
        at, declined = finals[ts]
        key = "others" if not flooder else "flood declined" if declined else "flood answered"
        split[key].append((at - sent) * 1000)
    split["others unanswered"] = [1.0] * sum(
        1 for ts, (_, flooder) in posted.items() if not flooder and ts not in finals
    )
    return split


def others_schedule(people: list[str], questions: list[str], count: int, start: float) -> Schedule:
    return [
        (
            start + n * OTHERS_WITHIN / count,
            people[n % len(people)],
            questions[n % len(questions)],
            False,
        )
        for n in range(count)
    ]


async def one_run(
    env: dict[str, str], args: argparse.Namespace, workspace: Path, order: tuple[str, str]
) -> dict[str, float]:
    people_emails, questions = args.people_emails, args.questions_list
    flooder, *others = [user_id_for(email) for email in people_emails]
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="trellis-flood-") as tmp:
        workdir = Path(tmp)
        seed = seed_for(load_workspace(workspace))
        async with SandboxServer(SandboxWorkspace.from_seed(seed)) as sandbox:
            process = await start_app(args.tree, sandbox, workdir, workspace, env)
            try:
                await sandbox.wait_for_connections(1, timeout=180)
                await ask(sandbox, others_schedule(others, questions, 3, 0.0), wait_s=60)
                for phase in order:
                    schedule = others_schedule(others, questions, args.others, 0.0)
                    if phase == "flood":
                        # The flood starts first and goes on around the others' questions.
                        schedule = [(o + 1.0, p, q, f) for o, p, q, f in schedule] + [
                            (
                                n * args.within / args.flood,
                                flooder,
                                questions[n % len(questions)],
                                True,
                            )
                            for n in range(args.flood)
                        ]
                    split = await ask(sandbox, schedule, wait_s=args.timeout)
                    others_ms = sorted(split["others"])
                    figures[f"{phase} p50"] = _pct(others_ms, 50)
                    figures[f"{phase} p95"] = _pct(others_ms, 95)
                    figures[f"{phase} lost"] = len(split["others unanswered"])
                    if phase == "flood":
                        figures["flood answered"] = len(split["flood answered"])
                        figures["flood declined"] = len(split["flood declined"])
            finally:
                await stop_app(process)
    return figures


COLUMNS = (
    "alone p50",
    "alone p95",
    "flood p50",
    "flood p95",
    "flood lost",
    "flood answered",
    "flood declined",
)


def _row(label: str, figures: dict[str, float]) -> str:
    return f"{label:<14} " + " ".join(f"{figures.get(k, float('nan')):>14.0f}" for k in COLUMNS)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="trellis-flood-ws-") as tmp:
        workspace, people, questions = prepare_workspace(Path(tmp), args.people)
        args.people_emails, args.questions_list = people, questions
        print(
            f"{args.others} questions from {len(people) - 1} people within {OTHERS_WITHIN:.0f} s, "
            f"alone and during {args.flood} questions from one person within {args.within:.0f} s; "
            f"{args.repeats} repeat(s); others' time to final answer in ms"
        )
        print(f"{'target':<14} " + " ".join(f"{k:>14}" for k in COLUMNS))
        results: dict[str, list[dict[str, float]]] = {label: [] for label in TARGETS}
        for repeat in range(args.repeats):
            order = ("alone", "flood") if repeat % 2 == 0 else ("flood", "alone")
            for label, env in TARGETS.items():
                figures = await one_run(env, args, workspace, order)
                results[label].append(figures)
                print(_row(f"{label} #{repeat + 1}", figures), flush=True)
    print("\nmedians")
    for label, runs in results.items():
        print(_row(label, {k: statistics.median(r[k] for r in runs) for k in COLUMNS}))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flood", type=int, default=300, help="questions from the flooder")
    parser.add_argument("--within", type=float, default=10.0, help="seconds to flood in")
    parser.add_argument("--others", type=int, default=40, help="questions from the others")
    parser.add_argument("--people", type=int, default=20, help="askers, the flooder included")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=180, help="seconds to wait for answers")
    parser.add_argument("--tree", type=Path, default=SCRIPT.parent.parent, help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
