"""Charts of the statistics, as SVG or PNG files, drawn with matplotlib.

matplotlib is an optional dependency (``pip install 'incidentkit[charts]'``) and is imported only
inside the functions that draw, when a chart is asked for: starting the CLI never pays for it.
Figures are made with ``matplotlib.figure.Figure`` directly (no pyplot, no GUI backend, no global
state). Every chart has a title, axes with units, N in its labels, and the Okabe-Ito palette
(readable with every common colour-vision deficiency); distributions are box plots with the
points drawn over them, trends are bars or lines per period. Each data series carries an SVG id
``series-NAME``, so a reader (or a test) can find them. SVG output is byte-for-byte repeatable.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config import write_user_file
from ..errors import InputError
from ..model.actionable import ActionableStats
from ..model.scorecard import ScorecardStats
from ..model.stats import IncidentStats
from ..util import plural

__all__ = ["PALETTE", "DEFAULT_SIZE", "chart_format", "parse_size", "incidents_chart", "actionables_chart", "scorecard_chart"]

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")  # Okabe-Ito
DEFAULT_SIZE = (1200, 900)  # pixels at 100 dpi (an SVG says it in points: 72 per inch)
DPI = 100


def chart_format(path: Path) -> str:
    """``svg`` or ``png``, from the file's suffix; InputError for anything else."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in ("svg", "png"):
        raise InputError(f"cannot draw a chart as {path.name!r}", hint="name the file .svg or .png")
    return suffix


def parse_size(text: str | None) -> tuple[int, int]:
    """``1200x900`` as (width, height) in pixels; the default when *text* is None."""
    if text is None:
        return DEFAULT_SIZE
    match = re.fullmatch(r"\s*(\d{2,5})\s*[xX×]\s*(\d{2,5})\s*", text)
    if not match or not (200 <= int(match.group(1)) <= 10000 and 200 <= int(match.group(2)) <= 10000):
        raise InputError(f"--chart-size {text!r} is not WIDTHxHEIGHT", hint="e.g. --chart-size 1200x900 (pixels, 200 to 10000)")
    return int(match.group(1)), int(match.group(2))


def chart_request(path: Path, size: str | None) -> tuple[Path, tuple[int, int]]:
    """A chart to draw, checked before any work is done: its file name, its size, matplotlib."""
    chart_format(path)
    dimensions = parse_size(size)
    _figure_class()
    return path, dimensions


def _figure_class() -> Any:
    try:
        from matplotlib.figure import Figure  # lazy: only a chart pays for matplotlib
    except ImportError as exc:
        raise InputError(
            "charts need matplotlib, which is not installed",
            hint="pip install 'incidentkit[charts]' (or pip install matplotlib)",
        ) from exc
    return Figure


def _figure(size: tuple[int, int], rows: int) -> tuple[Any, list[Any]]:
    figure = _figure_class()(figsize=(size[0] / DPI, size[1] / DPI), dpi=DPI, layout="constrained")
    axes = figure.subplots(rows, 1, squeeze=False)[:, 0]
    for ax in axes:
        ax.set_prop_cycle(color=PALETTE)
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
    return figure, list(axes)


def _save(figure: Any, path: Path) -> Path:
    import matplotlib  # lazy, see the module docstring

    fmt = chart_format(path)
    metadata = {"Date": None, "Creator": "incidentkit"} if fmt == "svg" else {"Software": "incidentkit"}

    def write(target: Path) -> None:
        with matplotlib.rc_context({"svg.hashsalt": "incidentkit", "svg.fonttype": "path"}):
            figure.savefig(target, format=fmt, dpi=DPI, metadata=metadata)

    # like --output, a mistyped folder is an error rather than a tree of new folders
    return write_user_file(path, write, what="--chart", hint="name a file in a folder that exists and you may write to")


def _ticks(ax: Any, labels: Sequence[str]) -> None:
    ax.set_xticks(range(len(labels)), labels, rotation=45 if len(labels) > 8 else 0, ha="right" if len(labels) > 8 else "center")


def _distribution(ax: Any, series: Sequence[tuple[str, str, Sequence[float], int]], unit: str) -> None:
    """Box plots with the points over them (jittered), one per series (name, label, values, unknown);
    N and the unknowns in the tick labels; a log scale, since durations are skewed."""
    jitter = random.Random(0)  # repeatable charts
    labels = []
    for index, (name, label, values, unknown) in enumerate(series):
        labels.append(f"{label}\nN = {len(values)}" + (f", unknown {unknown}" if unknown else ""))
        color = PALETTE[index % len(PALETTE)]
        if not values:
            continue
        boxes = ax.boxplot([list(values)], positions=[index], widths=0.5, showfliers=False, patch_artist=True)
        for box in boxes["boxes"]:
            box.set(facecolor=color + "33", edgecolor=color)
            box.set_gid(f"series-{name}")
        xs = [index + jitter.uniform(-0.15, 0.15) for _ in values]
        ax.scatter(xs, list(values), s=12, color=color, alpha=0.8, zorder=3, gid=f"series-{name}-points")
    _ticks(ax, labels)
    ax.set_yscale("symlog", linthresh=1)
    highest = max((max(values) for _, _, values, _ in series if values), default=1.0)
    ax.set_ylim(0, max(highest, 1.0) * 2)
    ax.set_ylabel(unit + " (log scale)")


def incidents_chart(stats: IncidentStats, path: Path, size: tuple[int, int] = DEFAULT_SIZE) -> Path:
    """Incidents (and repeats) per period, the duration metrics' distributions, after-hours pages per period."""
    figure, (counts, durations, pages) = _figure(size, 3)
    labels = [p.period for p in stats.periods]
    xs = range(len(labels))
    counts.bar(xs, [p.incidents for p in stats.periods], color=PALETTE[0], label="incidents", gid="series-incidents")
    counts.bar(xs, [p.repeats for p in stats.periods], color=PALETTE[1], width=0.5, label=f"repeats (within {stats.repeat_days} days)", gid="series-repeats")
    counts.set_title(f"Incidents per {stats.by} (N = {stats.incidents}; {len(stats.repeats)} repeats)")
    counts.set_ylabel("incidents")
    counts.legend(loc="upper left")
    _ticks(counts, labels)
    _distribution(
        durations,
        [(key.replace("_", "-"), label, stats.durations.get(key, ()), dist.unknown) for key, label, _, dist in stats.metrics],
        "minutes",
    )
    durations.set_title("Key durations from the key moments (impact start to detection, mitigation, resolution)")
    pages.bar(xs, [p.pages for p in stats.periods], color=PALETTE[5], label="pages", gid="series-pages")
    pages.bar(xs, [p.pages_outside for p in stats.periods], color=PALETTE[3], width=0.5, label="outside business hours", gid="series-pages-outside")
    share = "" if stats.share_outside is None else f" ({stats.share_outside:.0%})"
    pages.set_title(
        f"Pages outside business hours ({stats.business_hours}): {stats.pages_outside} of {stats.pages}{share}, "
        f"from {plural(stats.incidents_with_pages_known, 'drafted incident')}"
    )
    pages.set_ylabel("pages")
    pages.legend(loc="upper left")
    _ticks(pages, labels)
    return _save(figure, path)


def actionables_chart(stats: ActionableStats, ages: Sequence[float], path: Path, size: tuple[int, int] = DEFAULT_SIZE) -> Path:
    """The backlog per month (opened, closed, open at the month's end) and the age of the open backlog."""
    figure, (trend, spread) = _figure(size, 2)
    months = [m.month for m in stats.months]
    xs = range(len(months))
    trend.plot(xs, [m.opened for m in stats.months], marker="o", label="opened", gid="series-opened")
    trend.plot(xs, [m.closed for m in stats.months], marker="s", label="closed", gid="series-closed")
    trend.plot(xs, [m.open_at_end for m in stats.months], marker="^", linewidth=2.5, label="open at month end", gid="series-open")
    trend.set_title(f"Actionables per month (N = {stats.open} open now, {stats.overdue} overdue, {stats.closed} closed)")
    trend.set_ylabel("actionables")
    trend.legend(loc="upper left")
    _ticks(trend, months)
    _distribution(spread, [("age", "open actionables", ages, 0)], "age (days)")
    spread.set_title(f"Age of the open backlog (N = {len(ages)})")
    return _save(figure, path)


def scorecard_chart(stats: ScorecardStats, path: Path, size: tuple[int, int] = DEFAULT_SIZE) -> Path:
    """Share of "no" answers per period, one line per scorecard category."""
    figure, (ax,) = _figure(size, 1)
    periods = list(stats.periods)
    categories = list(dict.fromkeys(q.category for q in stats.questions))
    for category in categories:
        shares = []
        for index, _ in enumerate(periods):
            answered = sum(q.periods[index].answered for q in stats.questions if q.category == category)
            no = sum(q.periods[index].no for q in stats.questions if q.category == category)
            shares.append(100 * no / answered if answered else float("nan"))
        ax.plot(range(len(periods)), shares, marker="o", label=category, gid=f"series-{category.lower()}")
    ax.set_title(f'Share of "no" answers per {stats.by}, by category (N = {stats.incidents} incidents with answers)')
    ax.set_ylabel('"no" answers (% of answered)')
    ax.set_ylim(0, 100)
    ax.legend(loc="upper left")
    _ticks(ax, periods)
    return _save(figure, path)
