"""Results as data: typed parameter columns in CSV and JSON, the ResultSet API, heatmaps of 2-D sweeps."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Ran, write
from PIL import Image

import runner
from runner.app.resultset import PANDAS_MISSING, ResultSet
from runner.applying.execute import Report
from runner.errors import RunnerError
from runner.render import plot

PAIR = """OPENQASM 3.0;
include "stdgates.inc";
input float theta;
input float phi;
qubit[2] q;
bit[2] c;
rx(theta) q[0];
cx q[0], q[1];
ry(phi) q[1];
c = measure q;
"""

SCAN = """version: 1
project: scan
defaults: {shots: 400}
targets:
  sim: {provider: local}
jobs:
  pair:
    target: sim
    program: circuits/pair.qasm
    params: {phi: 0.0}
    matrix:
      theta: [0.0, 1.5708, 3.1416]
      phi: [0.0, 2.0944]
  basis:
    target: sim
    program: circuits/pair.qasm
    params: {theta: 1.0, phi: 2.0}
"""

VIRIDIS_LOW, VIRIDIS_HIGH = (68, 1, 84), (253, 231, 36)  # the colour map's two ends: P = 0 and P = 1


@pytest.fixture
def scan(tmp_path: Path, cli: Callable[..., Ran]) -> str:
    write(tmp_path / "scan", "circuits/pair.qasm", PAIR)
    manifest = str(write(tmp_path / "scan", "scan.yaml", SCAN))
    assert cli("apply", manifest, "--yes").code == 0
    return manifest


def test_csv_has_a_typed_column_per_parameter_and_python_reads_the_same_numbers(
    scan: str, cli: Callable[..., Ran]
) -> None:
    text = cli("results", "job.pair", "-m", scan, "--format", "csv").out
    lines = list(csv.DictReader(io.StringIO(text)))
    header = text.splitlines()[0].split(",")
    expected = ["address", "phi", "theta", "circuit", "outcome", "count", "probability", "shots", "generation"]
    assert header == [*expected, "remote_id", "target"]
    assert {(r["theta"], r["phi"]) for r in lines} == {
        (t, p) for t in ("0.0", "1.5708", "3.1416") for p in ("0.0", "2.0944")
    }
    assert {r["target"] for r in lines} == {"local.aer"} and all(r["remote_id"].startswith("local-") for r in lines)
    first = next(r for r in lines if r["address"] == "job.pair[phi=0.0,theta=0.0]")
    assert (first["outcome"], first["count"], first["probability"], first["shots"]) == ("00", "400", "1.0", "400")
    # the sweep value is a number in JSON, with the type the manifest gave it
    doc = json.loads(cli("results", "job.pair[phi=2.0944,theta=1.5708]", "-m", scan, "--json").out)
    assert doc["values"] == {"phi": 2.0944, "theta": 1.5708} and doc["target"] == "local.aer"

    script = textwrap.dedent(
        f"""
        import json, runner
        found = runner.results("job.pair", manifest={scan!r})
        frame = found.to_pandas()
        print(json.dumps({{"dtypes": {{c: str(t) for c, t in frame.dtypes.items()}},
                          "rows": frame.to_dict(orient="records")}}))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    frame = json.loads(done.stdout)
    assert frame["dtypes"]["theta"] == "float64" and frame["dtypes"]["count"] == "int64"
    from_csv = sorted((r["address"], float(r["theta"]), float(r["phi"]), r["outcome"], int(r["count"])) for r in lines)
    from_pandas = sorted((r["address"], r["theta"], r["phi"], r["outcome"], r["count"]) for r in frame["rows"])
    assert from_pandas == from_csv and len(from_csv) >= 6


def test_the_result_set_in_python(scan: str) -> None:
    found = runner.results(manifest=scan)
    assert isinstance(found, ResultSet) and len(found) == 7
    assert found.variables == ("phi", "theta")  # the fixed params of job.basis are columns too
    basis = [r for r in found.records() if r["address"] == "job.basis"]
    assert {(r["theta"], r["phi"]) for r in basis} == {(1.0, 2.0)}
    assert sum(r["probability"] for r in basis) == pytest.approx(1.0)
    html = found._repr_html_()
    assert "<th" in html and ">theta<" in html and "job.pair[phi=0.0,theta=0.0]" in html
    assert runner.results("job.basis", manifest=scan)[0]["values"] == {"theta": 1.0, "phi": 2.0}


def test_to_pandas_without_pandas_is_one_line(scan: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(RunnerError) as caught:
        runner.results(manifest=scan).to_pandas()
    assert caught.value.message == PANDAS_MISSING == "to_pandas needs pandas: pip install 'runner[pandas]'"


def test_plan_and_report_show_as_html_tables(tmp_path: Path) -> None:
    write(tmp_path / "scan", "circuits/pair.qasm", PAIR)
    manifest = str(write(tmp_path / "scan", "scan.yaml", SCAN))
    planned_html = runner.plan(manifest)._repr_html_()
    assert "Plan: 7 to create" in planned_html and "job.pair[phi=0.0,theta=0.0]" in planned_html
    report = runner.apply(manifest)
    assert isinstance(report, Report)
    html = report._repr_html_()
    assert "ok" in html and ">create<" in html and ">7<" in html


def test_a_2d_sweep_draws_a_heatmap_or_curves_in_svg(scan: str, cli: Callable[..., Ran]) -> None:
    done = cli("results", "job.pair", "-m", scan, "--plot", "heat.png")
    assert (done.code, done.out) == (0, "heat.png\n")
    assert Image.open("heat.png").size[0] > 1000
    svg = cli("results", "job.pair", "-m", scan, "--plot", "parity.svg", "--observable", "ZZ", "--curves")
    assert svg.code == 0, svg.err
    text = Path("parity.svg").read_text()
    assert text.startswith("<?xml") and "outcomes: bit 0 rightmost (Qiskit order)" in text
    assert "one curve per phi" in text and "⟨ZZ⟩" in text
    wrong = cli("results", "job.pair", "-m", scan, "--outcome", "11")
    assert (wrong.code, wrong.err) == (
        64,
        "error: --outcome, --observable and --curves choose what --plot FILE draws; give --plot too\n",
    )
    odd = cli("results", "job.pair", "-m", scan, "--plot", "x.gif")
    assert odd.err == "error: cannot tell how to draw x.gif: name it FILE.png, FILE.svg or FILE.pdf\n"


def grid_rows(cells: dict[tuple[float, float], int]) -> list[dict[str, Any]]:
    return [
        {
            "address": f"job.g[a={a},b={b}]",
            "generation": 1,
            "shots": 100,
            "counts": [{"11": n, "00": 100 - n}],
            "data": {},
            "values": {"a": a, "b": b},
        }
        for (a, b), n in cells.items()
    ]


def colours(image: Image.Image) -> dict[Any, int]:
    return {colour: n for n, colour in image.convert("RGB").getcolors(maxcolors=1 << 22) or []}


def test_the_heatmap_paints_each_point_with_its_probability(tmp_path: Path) -> None:
    rows = grid_rows(
        {(a, b): 100 * ((i + j) % 2) for i, a in enumerate((0.0, 1.0, 2.0)) for j, b in enumerate((5.0, 6.0))}
    )
    assert plot.plot(rows, tmp_path / "h.png", outcome="11") == "heatmap"
    seen = colours(Image.open(tmp_path / "h.png"))
    # three cells at P = 0 and three at P = 1, each tens of thousands of pixels at 200 dpi
    assert seen.get(VIRIDIS_LOW, 0) > 30_000 and seen.get(VIRIDIS_HIGH, 0) > 30_000
    assert plot.plot(rows, tmp_path / "c.png", curves=True) == "curves"
    (picture,) = plot.gallery(rows)  # the report draws the same heatmap
    assert picture.title == "job.g: heatmap over a and b" and picture.png.startswith(b"\x89PNG")
    three = [{**r, "values": {**r["values"], "c": i}} for i, r in enumerate(rows)]
    with pytest.raises(RunnerError) as caught:
        plot.plot(three, tmp_path / "x.png")
    assert caught.value.message.startswith("job.g varies in 3 parameters (a, b, c); a plot shows at most two")


def test_a_batch_job_reports_its_batch_s_device_and_its_variables() -> None:
    from runner.app import resultset
    from runner.domain.model import Attrs
    from runner.domain.resources import Recorded

    def rec(address: str, kind: Any, parent: str | None, spec: dict[str, Any]) -> Recorded:
        return Recorded(address, kind, "fresnel", "pasqal", parent, 1, "f" * 64, spec, Attrs(), "succeeded", "r-1")

    batch = rec("batch.scan", "batch", None, {"kind": "batch", "target": {"provider": "pasqal", "target": "FRESNEL"}})
    job = rec(
        "batch.scan.job[omega=2.0]", "batch_job", "batch.scan", {"kind": "batch_job", "variables": {"omega": 2.0}}
    )
    row = {"address": job.address, "generation": 1, "shots": 10, "counts": [{"01": 10}], "data": {}}
    (found,) = resultset.current([row], {batch.address: batch, job.address: job})
    assert (found["target"], found["values"], found["remote_id"]) == ("FRESNEL", {"omega": 2.0}, "r-1")
