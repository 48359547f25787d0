"""Sweep plots: a curve for a 1-D sweep, a heatmap (or a family of curves) for a 2-D one.

Every point is an estimate from shots with its standard error: error bars on curves, and the
colour scale of a heatmap fixed to the quantity's range (0 to 1, or -1 to 1), so two heatmaps
of the same quantity compare by eye. Which quantity: P(outcome) or the expectation of a Z/I
observable (series.Quantity); axis labels say the bit order the outcomes are written in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from runner.errors import RunnerError
from runner.render import series
from runner.render.canvas import Destination, figure, save

Row = series.Row
BLUE = "#3b6ea5"
NOTHING = "no results to plot: nothing matched, or the jobs have not finished (try `runner wait`)"
MAX_LABELS = 12  # tick labels per axis before they are thinned out
MAX_ANNOTATED = 144  # cells that get their value written in them


def sweep_plot(rows: Sequence[Row], param: str, path: Destination, *, quantity: series.Quantity | None = None) -> None:
    """One quantity against the swept parameter; by default P(most frequent outcome) and <Z> of bit 0 side by side."""
    if not rows:
        raise RunnerError(NOTHING)
    if quantity is not None:
        ordered = sorted(rows, key=lambda r: series.sort_key(series.param_values([r], param)[0]))
        values = series.param_values(ordered, param)
        fig = figure(6.5, 4.2)
        ax = fig.subplots()
        _curve(ax, values, [quantity.estimate(r) for r in ordered], quantity.label, quantity.limits, param)
        fig.suptitle(_title(rows, f"{quantity.label} over {param}", len(rows)), fontsize=10)
        _order_note(fig, rows)
        save(fig, path)
        return
    chosen = series.default_outcome(rows)
    pts = series.points(rows, param, chosen)
    values = [p.value for p in pts]
    fig = figure(11.0, 4.2)
    left, right = fig.subplots(1, 2)
    _curve(left, values, [p.probability for p in pts], f"P({chosen})", (0.0, 1.0), param)
    _curve(right, values, [p.z for p in pts], "⟨Z⟩ of classical bit 0", (-1.0, 1.0), param)
    fig.suptitle(_title(rows, f"sweep over {param}", len(pts)), fontsize=10)
    _order_note(fig, rows)
    save(fig, path)


def _curve(
    ax: Any,
    values: Sequence[Any],
    estimates: Sequence[series.Estimate],
    ylabel: str,
    limits: tuple[float, float],
    param: str,
    **style: Any,
) -> None:
    numeric = series.numeric(values)
    xs = list(values) if numeric else list(range(len(values)))
    ax.errorbar(
        xs,
        [e.value for e in estimates],
        yerr=[e.error for e in estimates],
        marker="o",
        capsize=3,
        **({"color": BLUE} | style),
    )
    if not numeric:
        ax.set_xticks(xs, [series.label(v) for v in values])
    pad = 0.02 * (limits[1] - limits[0])
    ax.set_ylim(limits[0] - pad, limits[1] + pad)
    ax.set_ylabel(ylabel)
    ax.set_xlabel(param)
    ax.grid(alpha=0.3)


def heatmap(rows: Sequence[Row], x: str, y: str, path: Destination, quantity: series.Quantity) -> None:
    """The quantity over a 2-D sweep: one cell per point, its value written in it while cells are few."""
    if not rows:
        raise RunnerError(NOTHING)
    g = series.grid(rows, x, y, quantity)
    fig = figure(min(4.0 + 0.55 * len(g.xs), 12.0), min(3.0 + 0.45 * len(g.ys), 9.0))
    ax = fig.subplots()
    data = [[float("nan") if c is None else c.value for c in line] for line in g.cells]
    low, high = quantity.limits
    cmap = "RdBu_r" if quantity.observable else "viridis"
    image = ax.imshow(data, origin="lower", aspect="auto", cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
    _ticks(ax.set_xticks, g.xs)
    _ticks(ax.set_yticks, g.ys)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if len(g.xs) * len(g.ys) <= MAX_ANNOTATED:
        for i, line in enumerate(g.cells):
            for j, cell in enumerate(line):
                if cell is not None:
                    dark = (cell.value - low) / (high - low) < 0.5 if not quantity.observable else abs(cell.value) > 0.5
                    ax.text(
                        j,
                        i,
                        f"{cell.value:.2f}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if dark else "black",
                    )
    bar = fig.colorbar(image, ax=ax)
    bar.set_label(quantity.label)
    missing = sum(c is None for line in g.cells for c in line)
    gaps = f" · {missing} combination(s) not run (blank)" if missing else ""
    fig.suptitle(_title(rows, f"{quantity.label} over {x} and {y}", len(rows)) + gaps, fontsize=10)
    _order_note(fig, rows)
    save(fig, path)


def curves(rows: Sequence[Row], x: str, y: str, path: Destination, quantity: series.Quantity) -> None:
    """A 2-D sweep as a family of curves: the quantity against x, one curve per value of y."""
    if not rows:
        raise RunnerError(NOTHING)
    g = series.grid(rows, x, y, quantity)
    fig = figure(7.5, 4.6)
    ax = fig.subplots()
    palette = _palette(len(g.ys))
    for vy, line, colour in zip(g.ys, g.cells, palette, strict=True):
        kept = [(vx, c) for vx, c in zip(g.xs, line, strict=True) if c is not None]
        _curve(
            ax,
            [vx for vx, _ in kept],
            [c for _, c in kept],
            quantity.label,
            quantity.limits,
            x,
            color=colour,
            label=f"{y} = {series.label(vy)}",
        )
    ax.legend(fontsize=7, ncols=1 if len(g.ys) <= 8 else 2, loc="best")
    fig.suptitle(_title(rows, f"{quantity.label} over {x}, one curve per {y}", len(rows)), fontsize=10)
    _order_note(fig, rows)
    save(fig, path)


def _palette(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(0.85 * i / max(1, n - 1)) for i in range(n)]


def _ticks(setter: Any, values: Sequence[Any]) -> None:
    step = max(1, -(-len(values) // MAX_LABELS))  # ceil: at most MAX_LABELS labels
    positions = list(range(0, len(values), step))
    setter(positions, [series.label(values[i]) for i in positions])


def _order_note(fig: Any, rows: Sequence[Row]) -> None:
    fig.text(0.995, 0.005, f"outcomes: {series.bit_order(rows)}", ha="right", va="bottom", fontsize=7, color="#55627a")


def _title(rows: Sequence[Row], what: str, points: int) -> str:
    base = series.base_of(rows[0]["address"])
    shots = sorted({int(r["shots"]) for r in rows})
    gens = sorted({r["generation"] for r in rows})
    shot_text = f"{shots[0]} shots each" if len(shots) == 1 else f"{shots[0]} to {shots[-1]} shots"
    gen_text = f"generation {gens[0]}" if len(gens) == 1 else f"generations {gens[0]} to {gens[-1]}"
    return f"{base}: {what} · {points} points · {shot_text} · {gen_text}"
