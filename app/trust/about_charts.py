"""The charts of `trellis about --html` and of the weekly digest, drawn with matplotlib.

Each chart is one small figure of the weekly measures (app/trust/about_weeks.py): answer
rate, no-answer rate, flags, approval turnaround, latency, model cost, and the eval pass
rate of each configuration version. The HTML report inlines each as SVG (text kept as
text, ids unique per chart, no timestamps); the digest gets them together as one PNG.

matplotlib is imported on first use, with the Agg backend, and only `Figure` objects are
drawn (never pyplot's global state), so importing Trellis stays quick and drawing is safe
off the event loop's thread.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.trust.about_weeks import Measures, Week

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

INK, ACCENT, SOFT, MUTED = "#1f2933", "#2e5e4e", "#8fb9a8", "#7b8794"
SIZE = (5.2, 2.6)


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    svg: str


@dataclass(frozen=True)
class _Spec:
    key: str
    title: str
    draw: Callable[[Axes, Measures], bool]
    """Draws on the axes; False when there is nothing to draw yet."""


def _matplotlib() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams.update(
        {
            "svg.fonttype": "none",
            "font.size": 9,
            "axes.edgecolor": MUTED,
            "axes.labelcolor": INK,
            "xtick.color": INK,
            "ytick.color": INK,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return matplotlib


def _labels(weeks: Sequence[Week]) -> list[str]:
    return [w.label.split("-")[1] for w in weeks]


def _weeks_axis(ax: Axes, weeks: Sequence[Week]) -> None:
    ax.set_xticks(range(len(weeks)), _labels(weeks))
    ax.set_xlim(-0.5, len(weeks) - 0.5)


def _bars(ax: Axes, weeks: Sequence[Week], values: list[float], *, least: float) -> None:
    ax.bar(range(len(weeks)), values, color=ACCENT)
    _weeks_axis(ax, weeks)
    ax.set_ylim(0, max([least, *values]) * 1.15)


def _line(ax: Axes, weeks: Sequence[Week], values: list[float | None], *, label: str = "") -> bool:
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    _weeks_axis(ax, weeks)
    if not points:
        return False
    xs, ys = zip(*points, strict=True)
    ax.plot(xs, ys, marker="o", color=ACCENT, linewidth=2, label=label or None)
    return True


def _percent_axis(ax: Axes) -> None:
    from matplotlib.ticker import PercentFormatter

    ax.set_ylim(0, 1.05)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))


def _answer_rate(ax: Axes, m: Measures) -> bool:
    _percent_axis(ax)
    return _line(ax, m.weeks, [w.answer_rate for w in m.weeks])


def _no_answer_rate(ax: Axes, m: Measures) -> bool:
    _percent_axis(ax)
    return _line(ax, m.weeks, [w.no_answer_rate for w in m.weeks])


def _flags(ax: Axes, m: Measures) -> bool:
    from matplotlib.ticker import MaxNLocator

    _bars(ax, m.weeks, [float(w.flags) for w in m.weeks], least=1.0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("flags raised")
    return True


def _turnaround(ax: Axes, m: Measures) -> bool:
    ax.set_ylabel("median hours")
    drawn = _line(ax, m.weeks, [w.turnaround_hours for w in m.weeks])
    ax.set_ylim(bottom=0)
    return drawn


def _latency(ax: Axes, m: Measures) -> bool:
    ax.set_ylabel("ms")
    drawn = _line(ax, m.weeks, [w.latency_p50_ms for w in m.weeks], label="p50")
    p95 = [(i, w.latency_p95_ms) for i, w in enumerate(m.weeks) if w.latency_p95_ms is not None]
    if p95:
        xs, ys = zip(*p95, strict=True)
        ax.plot(xs, ys, marker="s", color=SOFT, linewidth=2, label="p95")
        ax.legend(frameon=False)
    ax.set_ylim(bottom=0)
    return drawn


def _cost(ax: Axes, m: Measures) -> bool:
    _bars(ax, m.weeks, [w.cost_usd for w in m.weeks], least=0.01)
    ax.set_ylabel("USD")
    return True


def _eval_pass_rate(ax: Axes, m: Measures) -> bool:
    scored = [v for v in m.versions if v.pass_rate is not None]
    if not scored:
        ax.set_xticks([])
        return False
    _percent_axis(ax)
    colours = [ACCENT if v.status == "live" else SOFT for v in scored]
    ax.bar(range(len(scored)), [v.pass_rate or 0.0 for v in scored], color=colours)
    ax.set_xticks(range(len(scored)), [v.version[:7] for v in scored], rotation=20)
    return True


SPECS = (
    _Spec("answer_rate", "Answer rate per week", _answer_rate),
    _Spec("no_answer_rate", "No-answer rate per week", _no_answer_rate),
    _Spec("flags", "Flags per week", _flags),
    _Spec("approval_turnaround", "Approval turnaround per week", _turnaround),
    _Spec("latency", "Answer latency per week", _latency),
    _Spec("cost", "Model cost per week", _cost),
    _Spec("eval_pass_rate", "Eval pass rate per configuration version", _eval_pass_rate),
)


def _draw(ax: Axes, spec: _Spec, measures: Measures) -> None:
    ax.set_title(spec.title, loc="left", color=INK, fontsize=10)
    if not spec.draw(ax, measures):
        ax.text(
            0.5, 0.5, "no data yet", ha="center", va="center", color=MUTED, transform=ax.transAxes
        )


def chart_svgs(measures: Measures) -> list[Chart]:
    """Every chart as an inline `<svg>` element."""
    matplotlib = _matplotlib()
    from matplotlib.figure import Figure

    charts = []
    for spec in SPECS:
        with matplotlib.rc_context({"svg.hashsalt": f"trellis-{spec.key}"}):
            figure = Figure(figsize=SIZE, layout="constrained")
            _draw(figure.add_subplot(), spec, measures)
            charts.append(Chart(spec.key, spec.title, _svg(figure, spec.key)))
    return charts


def _svg(figure: Figure, key: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    element = text[text.index("<svg") :]
    return element.replace("<svg ", f'<svg role="img" data-chart="{key}" ', 1)


def charts_png(measures: Measures) -> bytes:
    """All the charts in one PNG, for the weekly digest."""
    _matplotlib()
    from matplotlib.figure import Figure

    columns = 2
    rows = -(-len(SPECS) // columns)
    figure = Figure(figsize=(SIZE[0] * columns, SIZE[1] * rows), layout="constrained", dpi=110)
    for i, spec in enumerate(SPECS):
        _draw(figure.add_subplot(rows, columns, i + 1), spec, measures)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
