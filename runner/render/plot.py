"""Pictures of results: a histogram of counts per job, a curve per sweep. Needs the `plot` extra.

matplotlib is imported inside the functions that draw, never at module level: `runner --help`
must not pay for it. Figures are drawn on an explicit Agg canvas rather than through pyplot,
so nothing global (backend, open-figure registry) changes in a program that imports runner.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from runner.errors import RunnerError
from runner.render import series

Row = Mapping[str, Any]
Destination = str | os.PathLike[str] | IO[bytes]
MAX_PANELS = 36
MAX_BARS = 16
MAX_PER_JOB = 24  # histograms per non-sweep job in a report; more would bury the rest of the page
MISSING = "plotting needs matplotlib: pip install 'runner[plot]'"


def figure(width: float, height: float) -> Any:
    """A matplotlib Figure on an Agg canvas (a clear one-line error without matplotlib)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise RunnerError(MISSING) from None
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Any, path: Destination) -> None:
    """Write the figure as PNG; a path that cannot be written is a runner error, not a traceback."""
    try:
        fig.savefig(path, format="png")
    except OSError as exc:
        raise RunnerError(f"cannot write the plot to {path}: {exc.strerror or exc}") from None


def plot(rows: Sequence[Row], path: Destination) -> str:
    """A sweep plot when the rows are one sweep, else histograms; returns which ("sweep" or "histogram")."""
    param = series.swept_param(rows)
    if param is None:
        counts_histogram(rows, path)
        return "histogram"
    sweep_plot(rows, param, path)
    return "sweep"


def counts_histogram(rows: Sequence[Row], path: Destination) -> None:
    """Bars of measured probability per bitstring: one panel per address and circuit."""
    panels = [(r, i, counts) for r in rows for i, counts in enumerate(r["counts"]) if counts]
    if not panels:
        raise RunnerError("no counts to plot: the selected resources have no results yet (try `runner wait`)")
    if len(panels) > MAX_PANELS:
        raise RunnerError(
            f"{len(panels)} histograms are too many for one image; select at most {MAX_PANELS} with ADDRESS|GLOB"
        )
    columns = min(3, len(panels))
    lines = math.ceil(len(panels) / columns)
    fig = figure(5.0 * columns, 3.6 * lines)
    axes = fig.subplots(lines, columns, squeeze=False).flatten()
    for ax, (row, index, counts) in zip(axes, panels, strict=False):
        _histogram(ax, row, index if len(row["counts"]) > 1 else None, counts)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    save(fig, path)


def _histogram(ax: Any, row: Row, index: int | None, counts: Mapping[str, int]) -> None:
    total = sum(counts.values())
    shown = sorted(_with_zeros(counts).items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_BARS]
    shown.sort()
    labels = [bits for bits, _ in shown]
    bars = ax.bar(range(len(shown)), [n / total for _, n in shown], color="#3b6ea5")
    ax.bar_label(bars, [str(n) for _, n in shown], fontsize=7, padding=1)
    ax.set_xticks(range(len(shown)), labels, rotation=90 if len(shown) > 8 or len(labels[0]) > 4 else 0)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("probability")
    ax.grid(axis="y", alpha=0.3)
    circuit = f" circuit {index}" if index is not None else ""
    more = f" · top {MAX_BARS} of {len(counts)}" if len(counts) > MAX_BARS else ""
    ax.set_title(f"{row['address']}{circuit}\n{row['shots']} shots · generation {row['generation']}{more}", fontsize=9)


def _with_zeros(counts: Mapping[str, int]) -> dict[str, int]:
    """Every outcome of a register of up to 4 bits, so an outcome never seen shows as an empty bar."""
    widths = {len(bits) for bits in counts}
    width = widths.pop() if len(widths) == 1 else 0
    if not 0 < width <= 4 or any(set(bits) - {"0", "1"} for bits in counts):
        return dict(counts)
    return {format(i, f"0{width}b"): counts.get(format(i, f"0{width}b"), 0) for i in range(2**width)}


def sweep_plot(rows: Sequence[Row], param: str, path: Destination, *, outcome: str | None = None) -> None:
    """P(outcome) and <Z> of classical bit 0 against the swept parameter, with binomial error bars.

    The default outcome is the most frequent one over the whole sweep that is not all zeros.
    """
    if not rows:
        raise RunnerError("no results to plot: nothing matched, or the jobs have not finished (try `runner wait`)")
    chosen = outcome if outcome is not None else series.default_outcome(rows)
    pts = series.points(rows, param, chosen)
    values = [p.value for p in pts]
    xs: list[Any] = list(values) if series.numeric(values) else list(range(len(pts)))
    fig = figure(11.0, 4.2)
    left, right = fig.subplots(1, 2)
    _curve(left, xs, [p.probability for p in pts], f"P({chosen})", (-0.02, 1.02))
    _curve(right, xs, [p.z for p in pts], "⟨Z⟩ of classical bit 0", (-1.05, 1.05))
    for ax in (left, right):
        ax.set_xlabel(param)
        if not series.numeric(values):
            ax.set_xticks(xs, [str(v) for v in values])
    fig.suptitle(_sweep_title(rows, param, pts), fontsize=10)
    save(fig, path)


def _curve(
    ax: Any, xs: Sequence[Any], estimates: Sequence[series.Estimate], label: str, ylim: tuple[float, float]
) -> None:
    ax.errorbar(
        xs, [e.value for e in estimates], yerr=[e.error for e in estimates], marker="o", capsize=3, color="#3b6ea5"
    )
    ax.set_ylabel(label)
    ax.set_ylim(*ylim)
    ax.grid(alpha=0.3)


def _sweep_title(rows: Sequence[Row], param: str, pts: Sequence[series.Point]) -> str:
    base = series.split_address(rows[0]["address"])[0]
    shots = sorted({p.shots for p in pts})
    gens = sorted({r["generation"] for r in rows})
    shot_text = f"{shots[0]} shots each" if len(shots) == 1 else f"{shots[0]} to {shots[-1]} shots"
    gen_text = f"generation {gens[0]}" if len(gens) == 1 else f"generations {gens[0]} to {gens[-1]}"
    return f"{base}: sweep over {param} · {len(pts)} points · {shot_text} · {gen_text}"


@dataclass(frozen=True)
class Picture:
    """One plot for a report: what it shows, its PNG bytes, its shape and what was left out of it."""

    title: str
    png: bytes
    note: str = ""
    shape: str = "wide"  # "small" for a one-panel histogram, which a page shows at card size


def gallery(rows: Sequence[Row]) -> list[Picture]:
    """Per sweep one sweep plot, per other job small histograms, in address order."""
    groups: dict[str, list[Row]] = {}
    for row in sorted(rows, key=lambda r: str(r["address"])):
        groups.setdefault(series.split_address(row["address"])[0], []).append(row)
    return [picture for base, members in sorted(groups.items()) for picture in _job_pictures(base, members)]


def _job_pictures(base: str, members: Sequence[Row]) -> list[Picture]:
    param = series.swept_param(members)
    if param is not None:
        buf = io.BytesIO()
        sweep_plot(members, param, buf)
        return [Picture(f"{base}: sweep over {param}", buf.getvalue())]
    out = [_histogram_picture(row) for row in members[:MAX_PER_JOB]]
    if len(members) > MAX_PER_JOB:  # a note without an image stands for what was not drawn
        left = len(members) - MAX_PER_JOB
        out.append(Picture(base, b"", f"{left} more addresses of {base} not drawn; `runner results` lists them"))
    return out


def _histogram_picture(row: Row) -> Picture:
    circuits = len(row["counts"])
    buf = io.BytesIO()
    counts_histogram([{**row, "counts": row["counts"][:MAX_PANELS]}], buf)
    note = f"first {MAX_PANELS} of {circuits} circuits" if circuits > MAX_PANELS else ""
    return Picture(row["address"], buf.getvalue(), note, "small" if circuits == 1 else "wide")
