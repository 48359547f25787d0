"""The HTML report: its structure, escaping, embedded plots, and how Chromium renders it."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import runner
from runner.domain.model import Attrs
from runner.domain.resources import Recorded
from runner.render import report
from runner.state import open_store

SCRIPT = "<script>alert(1)</script>"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Page(HTMLParser):
    """Tables (by class) as lists of cell texts, images, every tag seen, and the header facts."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[dict[str, str]] = []
        self.tags: set[str] = set()
        self.texts: dict[str, list[str]] = {}
        self._table = ""
        self._cell: list[str] | None = None
        self._where: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        self._where.append(tag)
        if tag == "table":
            self._table = found.get("class", "")
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(found)
            self._where.pop()

    def handle_endtag(self, tag: str) -> None:
        if self._where:
            self._where.pop()
        if tag in ("td", "th") and self._cell is not None and self._table:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = ""

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._where and data.strip():
            self.texts.setdefault(self._where[-1], []).append(data.strip())


@pytest.fixture
def applied(examples: Path, cli: Callable[..., Any]) -> Path:
    """The quickstart applied, with a script in its metadata and markup in a tag."""
    manifest = examples / "quickstart.yaml"
    text = manifest.read_text()
    assert "metadata: {purpose: entanglement check}" in text
    manifest.write_text(
        text.replace(
            "metadata: {purpose: entanglement check}", f'metadata: {{purpose: "{SCRIPT}"}}\n    tags: ["<b>bold</b>"]'
        )
    )
    assert cli("apply", str(manifest), "--yes").code == 0
    return manifest


def make_report(cli: Callable[..., Any], manifest: Path, out: Path) -> str:
    done = cli("report", "-m", str(manifest), "--out", str(out))
    assert (done.code, done.out, done.err) == (0, f"{out}\n", "")
    return out.read_text(encoding="utf-8")


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_report_of_an_applied_project(applied: Path, cli: Callable[..., Any], tmp_path: Path) -> None:
    text = make_report(cli, applied, tmp_path / "report.html")
    page = Page(text)
    assert page.texts["h1"] == ["quickstart"]
    facts = dict(zip(page.texts["dt"], page.texts["dd"], strict=True))
    st = open_store(str(applied.parent / ".runner" / "state.db"))
    serial = st.serial
    st.close()
    assert facts["serial"] == str(serial) and serial > 0 and facts["runner"] == runner.__version__
    assert facts["state"].endswith("examples/.runner/state.db")
    assert facts["last apply"].startswith("#1 apply at ") and facts["last apply"].endswith(
        ": ok, not in a git repository"
    )

    resources = page.tables["resources"]
    assert resources[0] == ["address", "kind", "status", "generation", "remote id", "updated", "tags", "metadata"]
    assert [r[0] for r in resources[1:]] == [
        "job.bell",
        "job.rotation[theta=0.0]",
        "job.rotation[theta=0.7854]",
        "job.rotation[theta=1.5708]",
        "job.rotation[theta=3.1416]",
    ]
    assert {r[2] for r in resources[1:]} == {"succeeded"} and {r[3] for r in resources[1:]} == {"1"}
    assert resources[1][6:] == ["<b>bold</b>, example:quickstart", '{"purpose": "<script>alert(1)</script>"}']
    assert page.tables["results"][0][:4] == ["address", "theta", "generation", "shots"]  # a column per parameter
    assert [r[:4] for r in page.tables["results"][1:3]] == [
        ["job.bell", "-", "1", "1000"],
        ["job.rotation[theta=0.0]", "0.0", "1", "1000"],
    ]
    history = page.tables["history"]
    assert [r[:5] for r in history[1:]] == [["1", history[1][1], "apply", "ok", "create 5"]]

    # escaped: the script and the markup are text on the page, never elements
    assert SCRIPT not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<b>" not in text and {"script", "b", "link", "iframe"}.isdisjoint(page.tags)
    # self-contained: no URL but the embedded images
    assert "http://" not in text and "https://" not in text and "url(" not in text

    assert [i["alt"] for i in page.images] == ["job.bell", "job.rotation: sweep over theta"]
    sizes = [
        png_size(base64.b64decode(i["src"].removeprefix("data:image/png;base64,"), validate=True)) for i in page.images
    ]
    assert all(i["src"].startswith("data:image/png;base64,") for i in page.images)
    assert sizes == [(1000, 720), (2200, 840)]  # drawn at 200 dpi, shown at half that size
    assert [i["width"] for i in page.images] == ["500", "1100"]
    assert page.texts["h2"][:3] == ["Plots", "Resources (5)", "Results"]  # plots first, tables after
    assert "Costs" in page.texts["h2"] and "none recorded" in page.texts["p"]


def test_report_without_matplotlib_still_lists_everything(
    applied: Path, cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    out = tmp_path / "plain.html"
    done = cli("report", "-m", str(applied), "--out", str(out))
    assert (done.code, done.out) == (0, f"{out}\n")
    assert done.err == "warning: plotting needs matplotlib: pip install 'runner[plot]'; the report has no plots\n"
    page = Page(out.read_text())
    assert page.images == [] and len(page.tables["results"]) == 6
    assert "No plots: plotting needs matplotlib (pip install 'runner[plot]')." in page.texts["p"]


def recorded(address: str, *, tags: tuple[str, ...] = (), detail: dict[str, Any] | None = None) -> Recorded:
    return Recorded(
        address, "job", "sim", "local", None, 2, "f" * 64, {}, Attrs(tags, {"note": SCRIPT}), "failed", None,
        updated_at="2026-01-01T00:00:00Z", detail=detail or {},
    )  # fmt: skip


def test_render_escapes_addresses_and_totals_costs() -> None:
    evil = f'job.x[v="{SCRIPT}"]'
    resources = {
        evil: recorded(evil, tags=("<i>t</i>",), detail={"cost": {"currency": "USD", "amount": 0.1}}),
        "job.a": recorded("job.a", detail={"cost": [{"currency": "USD", "amount": "0.2"}, {"currency": "EUR"}]}),
        "job.b": recorded("job.b", detail={"cost": "free"}),  # not a cost entry: ignored
    }
    run = {"id": 3, "operation": "apply", "started_at": "t0", "outcome": "failed", "git_commit": "abcdef0123456789"}
    run |= {"git_dirty": 1, "summary": {"create": 1, "failed": 1}, "versions": {"runner": "0.1.0"}}
    result = {"address": evil, "generation": 2, "shots": 10, "counts": [{"1": 10}], "data": {}}
    data = report.ReportData("p<&>", "s.db", 9, "0.1.0", "now", resources, [result], [run])
    text = report.render(data, None)
    page = Page(text)
    assert SCRIPT not in text and "<i>" not in text and page.texts["title"] == ["runner report: p<&>"]
    assert page.tables["costs"][1:] == [
        ["job.a", "USD", "0.2"],
        ["job.a", "EUR", "-"],
        [evil, "USD", "0.1"],
        ["total", "USD", "0.3"],  # exact decimals: not 0.30000000000000004
    ]
    assert dict(zip(page.texts["dt"], page.texts["dd"], strict=False))["last apply"].startswith(
        "#3 apply at t0: failed"
    )
    assert "abcdef0123 (dirty)" in page.texts["code"]
    assert 'class="status bad">failed<' in text  # resources and the failed run are shown in red
    assert page.tables["history"][1][4] == "create 1, failed 1"


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH (.ci/run installs Debian's chromium)")
def test_chromium_renders_the_report(applied: Path, cli: Callable[..., Any], tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    make_report(cli, applied, page)
    shot = tmp_path / "shot.png"
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
    flags += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
    command = [str(CHROMIUM), *flags, f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=1200,1600"]
    done = subprocess.run([*command, page.as_uri()], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    image = Image.open(io.BytesIO(shot.read_bytes())).convert("RGB")
    assert image.size == (1200, 1600)
    colours = dict((c, n) for n, c in image.getcolors(maxcolors=1 << 22) or [])
    assert len(colours) > 50  # text, badges, tables and plots: not a blank page
    assert colours.get((0xD5, 0xF2, 0xDC), 0) > 500  # the green "succeeded" badges: the inline CSS applied
    assert colours.get((0x3B, 0x6E, 0xA5), 0) > 2000  # the plots' blue: the embedded PNGs were decoded
