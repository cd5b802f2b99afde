"""`trellis about --json` and `--html`: the eight answers for a security review or another tool.

The JSON form follows `about.schema.json` beside this module (`SCHEMA_PATH`): the eight
answers in words, the facts they rest on, the weeks' measures and every configuration
version's eval pass rate. The HTML form is one self-contained file: the answers, then the
charts (inline SVG, app/trust/about_charts.py) and the tables behind them. It loads
nothing from anywhere, so it can be mailed, archived or opened offline.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

from app.trust.about import AUDIT_FIELDS, About, Answer
from app.trust.about_charts import Chart, chart_svgs

SCHEMA_PATH = Path(__file__).with_name("about.schema.json")
SCHEMA_ID = "trellis-about/1"
_CODE = re.compile(r"`([^`]+)`")


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def about_json(about: About) -> dict[str, Any]:
    f = about.facts
    m = f.measures
    documents = asdict(f.documents)
    documents["by_folder"] = [{"folder": k, "documents": n} for k, n in f.documents.by_folder]
    documents["by_owner"] = [{"owner": k, "documents": n} for k, n in f.documents.by_owner]
    documents["topic_owners"] = [
        {"topic": k, "owners": list(o)} for k, o in f.documents.topic_owners
    ]
    result = {
        "schema": SCHEMA_ID,
        "workspace": f.workspace,
        "version": f.version,
        "generated_at": f.generated_at,
        "reader": {**asdict(f.reader), "operator": f.reader.operator},
        "answers": [asdict(a) for a in about.answers],
        "facts": {
            "directory": {"file": f.directory_file, "people": f.people, "groups": f.groups},
            "admins": [{"principal": p, "people": list(n)} for p, n in f.admins],
            "support": f.support,
            "owners_channel": f.owners_channel,
            "min_confidence": f.min_confidence,
            "flags": {
                "reactions": list(f.flag_reactions),
                "flaggers": list(f.flaggers),
                "may_flag": f.may_flag,
                "open": m.open_flags,
                "corrected": m.corrected,
                "median_hours_to_correction": m.median_correction_hours,
            },
            "refusals": {"last_7_days": m.refusals, "by_reason": m.refusals_by_reason},
            "documents": documents,
            "workflows": [asdict(w) for w in f.workflows],
            "answer_review": {"when": f.review_when, "reviewers": f.reviewers},
            "audit": {**asdict(f.chain), "fields": list(AUDIT_FIELDS)},
            "eval_minimums": {
                "status_accuracy": f.eval_minimums[0],
                "source_recall": f.eval_minimums[1],
            },
        },
        "weeks": [
            {
                "week": w.label,
                **asdict(w),
                "answer_rate": w.answer_rate,
                "no_answer_rate": w.no_answer_rate,
                "flag_rate": w.flag_rate,
            }
            for w in m.weeks
        ],
        "versions": [{**asdict(v), "pass_rate": v.pass_rate} for v in m.versions],
    }
    plain: dict[str, Any] = _plain(result)
    return plain


# --- HTML ---------------------------------------------------------------------------------

STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2933;
       max-width: 1120px; margin: 0 auto; padding: 32px 24px; background: #fbfcfb; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 36px 0 12px; }
.meta { color: #52606d; margin: 0 0 24px; }
.answer { background: #fff; border: 1px solid #d9e2dc; border-radius: 8px; padding: 14px 18px;
          margin: 0 0 14px; }
.answer h3 { margin: 0 0 6px; font-size: 16px; color: #2e5e4e; }
.answer .summary { font-weight: 600; margin: 0 0 6px; }
.answer ul { margin: 0; padding-left: 20px; }
.sources { color: #52606d; font-size: 13px; margin: 8px 0 0; }
code { background: #eef2ef; border-radius: 3px; padding: 0 3px; font-size: 13px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 14px; }
figure { background: #fff; border: 1px solid #d9e2dc; border-radius: 8px; margin: 0; padding: 8px; }
figure svg { width: 100%; height: auto; display: block; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: 14px; }
th, td { border-bottom: 1px solid #e4e7eb; padding: 5px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
"""


def _text(value: str) -> str:
    """Escaped, with `code` shown as code."""
    return _CODE.sub(r"<code>\1</code>", html.escape(value, quote=False))


def _answer(answer: Answer) -> str:
    points = "".join(f"<li>{_text(p)}</li>" for p in answer.points)
    return (
        f'<section class="answer" id="{answer.key}"><h3>{_text(answer.question)}</h3>'
        f'<p class="summary">{_text(answer.summary)}</p>'
        + (f"<ul>{points}</ul>" if points else "")
        + f'<p class="sources">From: {_text(", ".join(answer.sources))}</p></section>'
    )


def _figure(chart: Chart) -> str:
    return f'<figure aria-label="{html.escape(chart.title)}">{chart.svg}</figure>'


def _cell(value: Any, kind: str = "") -> str:
    if value is None:
        shown = "–"
    elif kind == "%":
        shown = f"{value:.0%}"
    elif kind == "$":
        shown = f"${value:,.4f}"
    elif isinstance(value, float):
        shown = f"{value:,.1f}"
    else:
        shown = str(value)
    return f"<td>{html.escape(shown)}</td>"


def _weeks_table(about: About) -> str:
    head = (
        "week",
        "questions",
        "answered",
        "no answer",
        "flags",
        "helpful",
        "not helpful",
        "decided",
        "turnaround (h)",
        "latency p50 (ms)",
        "latency p95 (ms)",
        "cost",
    )
    rows = "".join(
        "<tr>"
        + _cell(w.label)
        + _cell(w.questions)
        + _cell(w.answer_rate, "%")
        + _cell(w.no_answer_rate, "%")
        + _cell(w.flags)
        + _cell(w.helpful)
        + _cell(w.not_helpful)
        + _cell(w.decided)
        + _cell(w.turnaround_hours)
        + _cell(w.latency_p50_ms)
        + _cell(w.latency_p95_ms)
        + _cell(w.cost_usd, "$")
        + "</tr>"
        for w in about.facts.measures.weeks
    )
    header = "".join(f"<th>{h}</th>" for h in head)
    return f'<table id="weeks"><tr>{header}</tr>{rows}</table>'


def _versions_table(about: About) -> str:
    rows = "".join(
        "<tr>"
        + _cell(v.version)
        + _cell(v.status)
        + _cell(f"{v.seen_at:%Y-%m-%d %H:%M}")
        + _cell(v.cases)
        + _cell(v.passed)
        + _cell(v.pass_rate, "%")
        + _cell(v.status_accuracy, "%")
        + _cell(v.source_recall, "%")
        + "</tr>"
        for v in about.facts.measures.versions
    )
    header = "".join(
        f"<th>{h}</th>"
        for h in (
            "version",
            "status",
            "seen (UTC)",
            "cases",
            "passed",
            "pass rate",
            "status accuracy",
            "source recall",
        )
    )
    return f'<table id="versions"><tr>{header}</tr>{rows}</table>'


def about_html(about: About, charts: list[Chart] | None = None) -> str:
    f = about.facts
    charts = chart_svgs(f.measures) if charts is None else charts
    title = f"About Trellis at {f.workspace}"
    reader = "the whole workspace (operator view)" if f.reader.operator else f.reader.name
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f'<p class="meta">For {html.escape(reader)} · configuration version '
        f"<code>{html.escape(f.version)}</code> · generated {f.generated_at:%Y-%m-%d %H:%M} UTC "
        f"· weeks since {f.measures.since:%Y-%m-%d}</p>"
        "<h2>The eight operating questions</h2>"
        + "".join(_answer(a) for a in about.answers)
        + "<h2>Measurements</h2>"
        + f'<div class="charts">{"".join(_figure(c) for c in charts)}</div>'
        + "<h2>Week by week</h2>"
        + _weeks_table(about)
        + "<h2>Configuration versions</h2>"
        + _versions_table(about)
        + "</body></html>\n"
    )
