"""The drawing surface of every plot: a matplotlib Figure on an explicit canvas, saved by file extension.

matplotlib is imported inside these functions, never at module level: `runner --help` must not
pay for it. Figures are drawn on an explicit Agg canvas rather than through pyplot, so nothing
global (backend, open-figure registry) changes in a program that imports runner.
"""

from __future__ import annotations

import os
from typing import IO, Any

from runner.errors import RunnerError

Destination = str | os.PathLike[str] | IO[bytes]
MISSING = "plotting needs matplotlib: pip install 'runner[plot]'"
DPI = 200  # twice a screen's: sharp on high-density displays and in print; SVG and PDF are vector anyway
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def figure(width: float, height: float) -> Any:
    """A matplotlib Figure of this size in inches on an Agg canvas (a clear one-line error without matplotlib)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise RunnerError(MISSING) from None
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def format_of(path: Destination) -> str:
    """png, svg or pdf from a path's extension; a stream gets PNG."""
    if not isinstance(path, (str, os.PathLike)):
        return "png"
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in FORMATS:
        raise RunnerError(f"cannot tell how to draw {os.fspath(path)}: name it FILE.png, FILE.svg or FILE.pdf")
    return FORMATS[ext]


def save(fig: Any, path: Destination) -> None:
    """Write the figure in the format its extension names; a path that cannot be written is a runner error."""
    from matplotlib import rc_context

    kind = format_of(path)
    try:
        # a fixed date keeps SVG and PDF files byte-identical when the data is: they diff cleanly in git
        metadata = {"Date": None} if kind in ("svg", "pdf") else None
        # text stays text in an SVG (editable in a journal's figure tools, searchable), not glyph outlines
        with rc_context({"svg.fonttype": "none", "svg.hashsalt": "runner"}):
            fig.savefig(path, format=kind, dpi=DPI, metadata=metadata)
    except OSError as exc:
        raise RunnerError(f"cannot write the plot to {path}: {exc.strerror or exc}") from None
