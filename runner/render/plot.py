"""Pictures of results: histograms of counts, and sweep plots (curves, heatmaps). Needs the `plot` extra.

What is drawn follows the shape of the data: rows of one job differing in one parameter give a
curve, in two a heatmap (or a family of curves), anything else histograms; `outcome` and
`observable` choose the quantity (series.Quantity). Every histogram says its bit order.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runner.errors import RunnerError
from runner.render import series, sweeps
from runner.render.canvas import MISSING, Destination, figure, save

__all__ = ["MISSING", "Destination", "Picture", "counts_histogram", "gallery", "plot", "sweep_plot"]

Row = Mapping[str, Any]
MAX_PANELS = 36
MAX_BARS = 16
MAX_PER_JOB = 24  # histograms per non-sweep job in a report; more would bury the rest of the page
sweep_plot = sweeps.sweep_plot


def quantity_of(outcome: str | None, observable: str | None) -> series.Quantity | None:
    """The quantity chosen on the command line (--outcome or --observable), or None for the default."""
    if outcome is not None and observable is not None:
        raise RunnerError("choose what to plot with --outcome or --observable, not both")
    if observable is not None:
        return series.Quantity.expectation(observable)
    return series.Quantity.probability(outcome) if outcome is not None else None


def plot(
    rows: Sequence[Row],
    path: Destination,
    *,
    outcome: str | None = None,
    observable: str | None = None,
    curves: bool = False,
) -> str:
    """Draw the rows as their shape asks; returns what was drawn: histogram, sweep, heatmap or curves."""
    quantity = quantity_of(outcome, observable)
    swept = series.varying(rows)
    if not swept:
        counts_histogram(rows, path)
        return "histogram"
    if len(swept) == 1:
        sweeps.sweep_plot(rows, swept[0], path, quantity=quantity)
        return "sweep"
    if len(swept) > 2:
        base = series.base_of(rows[0]["address"])
        raise RunnerError(
            f"{base} varies in {len(swept)} parameters ({', '.join(swept)}); a plot shows at most two: "
            f"select a slice with a GLOB, e.g. '{base}[{swept[0]}=...,*'"
        )
    x, y = series.axes(rows, swept)
    chosen = quantity or series.Quantity.probability(series.default_outcome(rows))
    (sweeps.curves if curves else sweeps.heatmap)(rows, x, y, path, chosen)
    return "curves" if curves else "heatmap"


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
    bars = ax.bar(range(len(shown)), [n / total for _, n in shown], color=sweeps.BLUE)
    ax.bar_label(bars, [str(n) for _, n in shown], fontsize=7, padding=1)
    ax.set_xticks(range(len(shown)), labels, rotation=90 if len(shown) > 8 or len(labels[0]) > 4 else 0)
    ax.set_xlabel(f"outcome · {series.bit_order([row])}", fontsize=8)
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


@dataclass(frozen=True)
class Picture:
    """One plot for a report: what it shows, its PNG bytes, its shape and what was left out of it."""

    title: str
    png: bytes
    note: str = ""
    shape: str = "wide"  # "small" for a one-panel histogram, which a page shows at card size


def gallery(rows: Sequence[Row]) -> list[Picture]:
    """Per job: a curve for a 1-D sweep, a heatmap for a 2-D one, else small histograms; in address order."""
    groups: dict[str, list[Row]] = {}
    for row in sorted(rows, key=lambda r: str(r["address"])):
        groups.setdefault(series.base_of(row["address"]), []).append(row)
    return [picture for base, members in sorted(groups.items()) for picture in _job_pictures(base, members)]


def _job_pictures(base: str, members: Sequence[Row]) -> list[Picture]:
    swept = series.varying(members)
    if swept and len(swept) <= 2:
        buf = io.BytesIO()
        kind = plot(members, buf)
        title = f"{base}: sweep over {swept[0]}"
        if kind == "heatmap":
            title = "{}: heatmap over {} and {}".format(base, *series.axes(members, swept))
        return [Picture(title, buf.getvalue())]
    out = [_histogram_picture(row) for row in members[:MAX_PER_JOB]]
    notes = []
    if swept:
        notes.append(
            f"{base} varies in {len(swept)} parameters ({', '.join(swept)}): `runner results GLOB --plot` draws a slice"
        )
    if len(members) > MAX_PER_JOB:  # a note without an image stands for what was not drawn
        notes.append(f"{len(members) - MAX_PER_JOB} more addresses of {base} not drawn; `runner results` lists them")
    return out + [Picture(base, b"", note) for note in notes]


def _histogram_picture(row: Row) -> Picture:
    circuits = len(row["counts"])
    buf = io.BytesIO()
    counts_histogram([{**row, "counts": row["counts"][:MAX_PANELS]}], buf)
    note = f"first {MAX_PANELS} of {circuits} circuits" if circuits > MAX_PANELS else ""
    return Picture(row["address"], buf.getvalue(), note, "small" if circuits == 1 else "wide")
