"""How soon Claude's first words reach Slack when an answer streams.

    python3 bench/stream_latency.py [--questions 20] [--repeats 3] [--first-token 0.5]
                                    [--between 0.02]

One process runs the real Trellis (the Bolt app over Socket Mode, the real slack_sdk and
anthropic clients, SQLite, the demo workspace without its review rule for answers, so
every answer may stream) against the local Slack (app.sandbox), with the Claude backend
pointed at the fake Messages API (tests/fakes/anthropic_server.py) streaming its reply:
`--first-token` seconds before the first text delta, `--between` seconds between the
others. A person opens the assistant view and asks each question in a new thread.

Measured per question: from the fake server writing the reply's first text delta to the
sandbox having received the first chat.appendStream that carries text (both on the same
wall clock, in this one process). Printed: p50 and p95 per repeat, then the median over
the repeats. The target is 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
sys.path.insert(0, str(ROOT))

import anthropic  # noqa: E402

from app import answering  # noqa: E402
from app.config.workspace import default_workspace_path  # noqa: E402
from app.sandbox.records import ApiCall  # noqa: E402
from tests.fakes import FakeAnthropic  # noqa: E402
from tests.harness import RunningTrellis, running_trellis  # noqa: E402

ASKER = "sam.ortiz@northwind.example"
QUESTIONS = (
    "When is Trail Day in 2026?",
    "What apology code can I add to a delayed shipment reply?",
    "Is the office closed on Trail Day?",
    "How do I reset my VPN password?",
    "What is the guest wifi password?",
)
REVIEW_RULE = "  review_when: 'channel.is_shared || \"review\" in draft.tags'\n"


def workspace_without_review(root: Path) -> Path:
    target = root / "workspace"
    shutil.copytree(default_workspace_path(), target)
    rules = target / "rules.yml"
    text = rules.read_text()
    if REVIEW_RULE not in text:
        raise SystemExit("the demo workspace's review rule changed; update REVIEW_RULE")
    rules.write_text(text.replace(REVIEW_RULE, ""))
    return target


def streamed_text(call: ApiCall) -> str:
    text = str(call.params.get("markdown_text") or "")
    for chunk in call.params.get("chunks") or []:
        if isinstance(chunk, dict) and chunk.get("type") == "markdown_text":
            text += str(chunk.get("text") or "")
    return text


async def one_question(trellis: RunningTrellis, server: FakeAnthropic, text: str) -> float | None:
    """Seconds from the model's first token to Slack's first streamed text; None when the
    question was answered without the model."""
    user = trellis.user(ASKER)
    im = trellis.sandbox.workspace.open_im(user).id
    thread_ts = await trellis.sandbox.open_assistant(user)
    await trellis.sandbox.wait_for_message(
        im, lambda m: bool(m.bot_id and m.is_reply and m.thread_ts == thread_ts), timeout=15
    )
    start = len(trellis.sandbox.workspace.calls)
    tokens = len(server.first_token_at)
    await trellis.sandbox.post_message(user, im, text, thread_ts=thread_ts)
    stop = await trellis.sandbox.wait_for_call(
        "chat.stopStream",
        lambda c: c.params.get("channel") == im and c in trellis.sandbox.workspace.calls[start:],
        timeout=30,
    )
    if len(server.first_token_at) == tokens:
        return None
    first_token = server.first_token_at[tokens]
    calls = trellis.sandbox.workspace.calls[start:]
    appended = [
        c
        for c in calls
        if c.method == "chat.appendStream" and streamed_text(c) and c.time <= stop.time
    ]
    return appended[0].time - first_token if appended else None


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def run(questions: int, repeats: int, first_token: float, between: float) -> None:
    os.environ["TRELLIS_QUESTIONS_PER_MINUTE"] = "0"  # one asker, many questions
    os.environ["TRELLIS_WORKSPACE_QUESTIONS_PER_MINUTE"] = "0"
    p50s, p95s = [], []
    for repeat in range(1, repeats + 1):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            workspace = workspace_without_review(root)
            async with (
                FakeAnthropic(
                    min_cache_tokens=0,
                    first_token_delay_s=first_token,
                    token_delay_s=between,
                    clock=time.time,  # the sandbox stamps its calls with time.time
                ) as server,
                anthropic.AsyncAnthropic(
                    api_key=server.api_key, base_url=server.base_url, max_retries=0, timeout=30
                ) as client,
                running_trellis(
                    root,
                    workspace=workspace,
                    answerer_for=lambda _: answering.build_answerer(
                        client=client, model="claude-sonnet-4-6"
                    ),
                ) as trellis,
            ):
                gaps = []
                for n in range(questions):
                    gap = await one_question(trellis, server, QUESTIONS[n % len(QUESTIONS)])
                    if gap is not None:
                        gaps.append(gap * 1000)
        if not gaps:
            raise SystemExit("no question was answered by the model")
        p50, p95 = percentile(gaps, 0.5), percentile(gaps, 0.95)
        p50s.append(p50)
        p95s.append(p95)
        print(
            f"repeat {repeat}: {len(gaps)}/{questions} streamed  "
            f"first token -> Slack  p50 {p50:.1f} ms  p95 {p95:.1f} ms"
        )
    p50, p95 = statistics.median(p50s), statistics.median(p95s)
    verdict = "within" if p95 <= 300 else "over"
    print(
        f"median of {repeats} repeats: p50 {p50:.1f} ms  p95 {p95:.1f} ms  "
        f"({verdict} the 300 ms target; first token after {first_token * 1000:.0f} ms, "
        f"then every {between * 1000:.0f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--first-token", type=float, default=0.5)
    parser.add_argument("--between", type=float, default=0.02)
    args = parser.parse_args()
    asyncio.run(run(args.questions, args.repeats, args.first_token, args.between))


if __name__ == "__main__":
    main()
