"""Plots of results: PNGs of the right shape and content, clear errors, matplotlib only when drawing."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from runner.errors import RunnerError
from runner.render import plot

BAR_BLUE = (0x3B, 0x6E, 0xA5)  # the colour plot.py draws bars and curves in


def row(addr: str, *counts: dict[str, int], **values: Any) -> dict[str, Any]:
    return {"address": addr, "generation": 1, "counts": list(counts), "shots": 100, "data": {}, "values": values}


def png(draw: Callable[[io.BytesIO], None]) -> Image.Image:
    buf = io.BytesIO()
    draw(buf)
    assert buf.getvalue().startswith(b"\x89PNG\r\n\x1a\n")
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def blue_pixels(image: Image.Image) -> int:
    return sum(n for n, colour in image.getcolors(maxcolors=1 << 20) or [] if colour == BAR_BLUE)


def test_histogram_has_one_panel_per_address_and_circuit() -> None:
    one = png(lambda b: plot.counts_histogram([row("job.bell", {"00": 50, "11": 50})], b))
    four = png(
        lambda b: plot.counts_histogram(
            [row("job.bell", {"00": 50, "11": 50}), row("job.pair", {"0": 100}, {"1": 60, "0": 40}), row("job.x", {})],
            b,
        )
    )
    assert (one.size, four.size) == ((1000, 720), (3000, 720))  # 200 dpi  # job.x has no counts: no panel
    assert blue_pixels(one) > 1000 and blue_pixels(four) > 2 * blue_pixels(one)


def test_sweep_plot_has_two_panels_and_plot_chooses_it_for_a_sweep(tmp_path: Path) -> None:
    rows = [row(f"job.rot[theta={t}]", {"0": 100 - n, "1": n}, theta=t) for t, n in ((0.0, 0), (1.5, 50), (3.0, 100))]
    assert plot.plot(rows, tmp_path / "s.png") == "sweep"
    assert plot.plot([rows[0], row("job.bell", {"00": 1})], tmp_path / "h.png") == "histogram"
    image = Image.open(tmp_path / "s.png")
    assert image.size == (2200, 840)
    assert blue_pixels(image.convert("RGB")) > 500


def test_a_sweep_over_words_gets_a_sweep_plot(tmp_path: Path) -> None:
    rows = [row(f'job.basis[b="{b}"]', {"0": 60, "1": 40}, b=b) for b in ("z", "x y", "a")]
    assert plot.plot(rows, tmp_path / "words.png") == "sweep"
    assert Image.open(tmp_path / "words.png").size == (2200, 840)


@pytest.mark.parametrize(
    ("draw", "message"),
    [
        (
            lambda b: plot.counts_histogram([row("job.a", {})], b),
            "no counts to plot: the selected resources have no results yet (try `runner wait`)",
        ),
        (
            lambda b: plot.sweep_plot([], "theta", b),
            "no results to plot: nothing matched, or the jobs have not finished (try `runner wait`)",
        ),
        (
            lambda b: plot.counts_histogram([row(f"job.a[i={i}]", {"0": 1}, i=i) for i in range(37)], b),
            "37 histograms are too many for one image; select at most 36 with ADDRESS|GLOB",
        ),
        (
            lambda b: plot.counts_histogram([row("job.a", {"0": 1})], "/no/such/folder/x.png"),
            "cannot write the plot to /no/such/folder/x.png: No such file or directory",
        ),
    ],
)
def test_nothing_to_plot_is_a_clear_error(draw: Callable[[io.BytesIO], None], message: str) -> None:
    with pytest.raises(RunnerError) as caught:
        draw(io.BytesIO())
    assert caught.value.message == message


def test_gallery_draws_a_sweep_once_and_other_jobs_each() -> None:
    rows = [row(f"job.rot[theta={t}]", {"0": 10}, theta=t) for t in (0.0, 1.0)] + [row("job.bell", {"00": 1})]
    pictures = plot.gallery(rows)
    assert [(p.title, p.shape) for p in pictures] == [("job.bell", "small"), ("job.rot: sweep over theta", "wide")]
    assert all(p.png.startswith(b"\x89PNG") for p in pictures)


@pytest.fixture
def applied(examples: Path, cli: Callable[..., Any]) -> str:
    manifest = str(examples / "quickstart.yaml")
    assert cli("apply", manifest, "--yes").code == 0
    return manifest


def test_results_plot_writes_the_png_and_prints_its_path(applied: str, cli: Callable[..., Any]) -> None:
    done = cli("results", "job.rotation", "-m", applied, "--plot", "rotation.png")
    assert (done.code, done.out, done.err) == (0, "rotation.png\n", "")
    assert Image.open("rotation.png").size == (2200, 840)  # the sweep plot
    everything = cli("results", "-m", applied, "--plot", "all.png")
    assert (everything.code, everything.out) == (0, "all.png\n")
    assert Image.open("all.png").size == (3000, 1440)  # five histograms, three to a line
    assert cli("results", "job.bell", "-m", applied).out.splitlines()[1].split()[:3] == ["job.bell", "1", "1000"]


def test_results_plot_without_matplotlib_is_one_line(
    applied: str, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)  # makes `import` raise ImportError
    done = cli("results", "-m", applied, "--plot", "x.png")
    assert (done.code, done.out, done.err) == (1, "", "error: plotting needs matplotlib: pip install 'runner[plot]'\n")
    assert not Path("x.png").exists()


def test_the_command_line_starts_without_matplotlib() -> None:
    code = (
        "import sys\nfrom runner.cli import run\n"
        "for argv in (['--help'], ['results', '--help'], ['report', '--help'], ['wait', '--help']):\n"
        "    run(argv)\n"
        "print('matplotlib' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stderr == "False\n"
    assert "--plot FILE.png|svg|pdf" in done.stdout and "runner report -m examples/quickstart.yaml" in done.stdout
