"""Colour on a terminal, and only there: + green, ~ yellow, - red, ! red and bold.

Off when stdout is not a terminal (a pipe, a file, a CI log), when NO_COLOR is set to anything
(https://no-color.org), when TERM is "dumb", and with --no-color. FORCE_COLOR turns it on for a
log viewer that renders ANSI (GitHub Actions does) unless one of the "off" signals says otherwise.
Plain ANSI SGR codes, written by hand: no library to import for a few escapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO

CODES = {"green": "32", "yellow": "33", "red": "31", "bold": "1", "dim": "2", "cyan": "36", "red-bold": "1;31"}
# the colour of each plan and event symbol: what is added, changed, removed, or in trouble
SYMBOL_COLOURS = {"+": "green", "~": "yellow", "-": "red", "!": "red-bold", "*": "cyan", "->": "cyan"}


def enabled(stream: IO[str], env: Mapping[str, str], *, no_color: bool = False) -> bool:
    """Whether to colour what goes to this stream."""
    if no_color or env.get("NO_COLOR", "") != "" or env.get("TERM") == "dumb":
        return False
    if env.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or already closed
        return False


class Painter:
    """Wraps text in SGR codes when on, returns it unchanged when off."""

    def __init__(self, on: bool) -> None:
        self.on = on

    def __call__(self, text: str, style: str) -> str:
        if not self.on or not text or style not in CODES:
            return text
        return f"\x1b[{CODES[style]}m{text}\x1b[0m"

    def symbol(self, symbol: str, width: int = 3) -> str:
        """A plan or event symbol right-aligned to `width`, in its colour."""
        pad = " " * max(0, width - len(symbol))
        if symbol == "-/+":  # a replace: the old one goes (red), a new one comes (green)
            return pad + self("-", "red") + "/" + self("+", "green")
        return pad + self(symbol, SYMBOL_COLOURS.get(symbol, ""))


PLAIN = Painter(False)
