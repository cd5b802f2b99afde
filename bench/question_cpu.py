"""CPU and wall time per question through the whole question chain, on the demo workspace.

    python3 bench/question_cpu.py [N] [--profile]

Ingests the bundled demo workspace into a scratch SQLite database, asks its golden-set
questions as people of the directory (offline answerer, the workspace's retrieval), 10 to
warm up and then N, and prints the CPU (of the process, and of the event loop's thread
alone: what bounds the questions one process answers a second) and wall milliseconds per
question. `--profile` prints a pyinstrument profile of the N questions (pip install
pyinstrument).
"""

from __future__ import annotations

import asyncio
import sys
import time

from demo_index import demo_index

from app.answering.backends.extractive import ExtractiveAnswerer
from app.config.settings import Settings
from app.pipeline import Question, answer_question
from app.services import build_services
from app.slack_people import SlackChannel


async def main(count: int, profile: bool) -> None:
    workspace, database = await demo_index()
    services = build_services(
        Settings(database_url=database.url), workspace, database, answerer=ExtractiveAnswerer()
    )
    questions = [case.question for case in workspace.evals]
    people = list(workspace.directory.people)[:10]
    channel = SlackChannel(id="D0BENCH", is_im=True)

    async def ask(i: int) -> None:
        person = people[i % len(people)]
        text = questions[i % len(questions)]
        await answer_question(services, Question(text=text, person=person, channel=channel))

    for i in range(10):
        await ask(i)
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001, async_mode="disabled")
        profiler.start()
    cpu, wall, own = time.process_time(), time.perf_counter(), time.thread_time()
    for i in range(count):
        await ask(i)
    cpu_ms = (time.process_time() - cpu) / count * 1000
    wall_ms = (time.perf_counter() - wall) / count * 1000
    own_ms = (time.thread_time() - own) / count * 1000
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False))
    print(
        f"cpu per question {cpu_ms:.1f} ms (event loop's thread {own_ms:.1f}), wall {wall_ms:.1f} ms"
    )
    await database.dispose()


if __name__ == "__main__":
    number = int(next((a for a in sys.argv[1:] if a.isdigit()), "200"))
    asyncio.run(main(number, "--profile" in sys.argv))
