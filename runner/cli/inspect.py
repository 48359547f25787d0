"""status, show, results, history: read the state, never write it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from runner.cli.common import json_option, manifest_option, state_option
from runner.errors import UsageError


@click.command()
@click.argument("addresses", nargs=-1, metavar="[ADDRESS|GLOB]...")
@manifest_option
@state_option
@json_option
@click.option("--in", "in_", metavar="SESSION|BATCH", help="Only the jobs of this session or batch (its address).")
def status(addresses: tuple[str, ...], manifest: str | None, state: str | None, as_json: bool, in_: str | None) -> int:
    """List managed resources: address, kind, status, session or batch, generation, remote id, updated.

    The status keeps the provider's own word beside runner's when they differ: `running (Failure(s))`.

    \b
    Examples:
      runner status -m examples/quickstart.yaml
      runner status 'job.rotation*' --json
      runner status --in session.calibration -m examples/azure/azure.yaml
    """
    from runner import app
    from runner.render import output
    from runner.render.remote import status_text

    rows = app.status(addresses, manifest=manifest, state=state, in_=in_)
    if as_json:
        output.dump_json(rows)
    else:
        shown = [{**r, "status": status_text(r["status"], r["raw_status"]), "in": r["parent"]} for r in rows]
        output.table(shown, ["address", "kind", "status", "in", "generation", "remote_id", "updated"])
    return 0


@click.command()
@click.argument("address_", metavar="ADDRESS")
@manifest_option
@state_option
@json_option
@click.option("--offline", is_flag=True, help="Only what the state recorded: do not ask the service.")
def show(address_: str, manifest: str | None, state: str | None, as_json: bool, offline: bool) -> int:
    """Everything recorded about one address: spec, generations, results; and what its service reports now.

    A session or batch lists its jobs: those the state keeps, and those the service lists (Azure
    session jobs, Pasqal batch jobs with runs and variables), each marked managed or not, with the
    session's cost, usage, creator and times where the service sends them. A Superstaq job shows
    each circuit's status and message. --offline skips the service.

    \b
    Examples:
      runner show job.bell -m examples/quickstart.yaml
      runner show session.calibration -m examples/azure/azure.yaml
      runner show batch.rabi -m examples/pasqal/pasqal.yaml --json
    """
    from runner import app
    from runner.render import output

    doc = app.show(address_, manifest=manifest, state=state, remote=not offline)
    if as_json:
        output.dump_json(doc)
        return 0
    _show_text(doc)
    return 0


def _show_text(doc: dict[str, Any]) -> None:
    import json

    from runner.render import output
    from runner.render.remote import remote_lines, status_text

    state = status_text(doc["status"], doc.get("raw_status"))
    click.echo(f"{doc['address']}  ({doc['kind']}, {state}{'' if doc['managed'] else ', no longer managed'})")
    if doc["managed"]:
        click.echo(f"  target:      {doc['target']}")
        click.echo(f"  remote id:   {doc['remote_id'] or '-'}")
        click.echo(f"  tags:        {', '.join(doc['attrs']['tags']) or '-'}")
        if doc["attrs"]["metadata"]:
            click.echo(f"  metadata:    {json.dumps(doc['attrs']['metadata'], sort_keys=True)}")
        for line in _detail_lines(doc.get("detail") or {}):
            click.echo(line)
    for line in remote_lines(doc["remote"]) if doc.get("remote") else []:
        click.echo(line)
    if doc.get("jobs") is not None:
        click.echo(f"  jobs in the state ({len(doc['jobs'])}):")
        for j in doc["jobs"]:
            extra = f"  runs={j['runs']} variables={json.dumps(j['variables'], sort_keys=True)}" if "runs" in j else ""
            click.echo(
                f"    {j['address']}  {status_text(j['status'], j['raw_status'])}  {j['remote_id'] or '-'}{extra}"
            )
    click.echo("  spec:")
    for line in json.dumps(doc["spec"], indent=2, sort_keys=True).splitlines():
        click.echo(f"    {line}")
    click.echo("  generations:")
    for g in doc["generations"]:
        retired = f", retired: {g['retired_reason']}" if g["retired_at"] else ""
        submitted = g["submitted_at"] or "-"
        click.echo(f"    {g['generation']}: {g['status']}  {g['remote_id'] or '-'}  submitted {submitted}{retired}")
        for line in _provenance_lines(g["provenance"]):
            click.echo(f"       {line}")
        if "result" in g:
            r = g["result"]
            for i, counts in enumerate(r["counts"]):
                label = f"circuit {i}: " if len(r["counts"]) > 1 else ""
                click.echo(f"       {label}{r['shots']} shots, seed {r['seed']}: {output.counts_text(counts)}")


def _detail_lines(detail: Mapping[str, Any]) -> list[str]:
    """What the provider last reported besides the status: the error, the cost, each circuit's status."""
    import json

    lines = []
    if detail.get("error"):
        lines.append(f"  error:       {detail['error']}")
    for key in ("cost", "session_cost"):
        if detail.get(key):
            costs = detail[key] if isinstance(detail[key], list) else [detail[key]]
            shown = ", ".join(f"{c.get('amount')} {c.get('currency')}" for c in costs if isinstance(c, Mapping))
            lines.append(f"  {key.replace('_', ' ') + ':':<13}{shown}")
    if detail.get("jobs"):  # a batch's jobs per status, as the provider counts them
        lines.append(f"  jobs:        {json.dumps(detail['jobs'], sort_keys=True)}")
    statuses = detail.get("statuses") or []
    if len(statuses) > 1:
        lines.append(f"  circuits:    {', '.join(f'{i}: {s}' for i, s in enumerate(statuses))}")
    if detail.get("failures"):
        lines.append("  failures:    some jobs of this session failed (it is still open: jobFailurePolicy Continue)")
    return lines


def _provenance_lines(p: dict[str, Any]) -> list[str]:
    lines = []
    run = p.get("run")
    if run:
        commit = (
            f"git {run['git_commit'][:12]}{' (dirty)' if run['git_dirty'] else ''}" if run["git_commit"] else "no git"
        )
        versions = ", ".join(f"{k} {v}" for k, v in sorted(run["versions"].items()))
        lines.append(f"{run['operation']} #{run['id']}: {commit}, manifest {(run['manifest_digest'] or '-')[:12]}")
        lines.append(f"versions: {versions}")
    snap = p.get("target_snapshot")
    if snap:
        desc = snap.get("description") or {}
        shown = ", ".join(f"{k}={v}" for k, v in sorted(desc.items()) if isinstance(v, (str, int, float, bool)))[:100]
        lines.append(f"target then: {shown or 'recorded'} (snapshot {snap['digest'][:12]})")
    for key in ("imported", "adopted"):
        if p.get(key):
            lines.append(f"{key}")
    return lines


@click.command()
@click.argument("addresses", nargs=-1, metavar="[ADDRESS|GLOB]...")
@manifest_option
@state_option
@json_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default=None,
    help="Output format (default table; --json is --format json). CSV has one row per measured outcome.",
)
@click.option("--all-generations", is_flag=True, help="Include results of superseded generations.")
@click.option(
    "--plot",
    "plot_path",
    metavar="FILE.png|svg|pdf",
    type=click.Path(dir_okay=False),
    help="Draw the results into this file instead (format by extension) and print its path: a curve for a "
    "1-D sweep, a heatmap for a 2-D one, else histograms.",
)
@click.option("--outcome", metavar="BITS", help="Plot P(BITS) (as printed, e.g. 11) instead of the default.")
@click.option(
    "--observable",
    metavar="ZI..",
    help="Plot the expectation of a Z/I string, one letter per outcome bit as printed (ZZ: parity of two bits).",
)
@click.option("--curves", is_flag=True, help="Draw a 2-D sweep as a family of curves instead of a heatmap.")
def results(
    addresses: tuple[str, ...],
    manifest: str | None,
    state: str | None,
    as_json: bool,
    fmt: str | None,
    all_generations: bool,
    plot_path: str | None,
    outcome: str | None,
    observable: str | None,
    curves: bool,
) -> int:
    """Measured counts, as a table, JSON or CSV, or a plot.

    One exact ADDRESS with --json prints one object {"address", "generation", "values",
    "counts": {bitstring: n}, "target", "remote_id", ...}; otherwise a list. "values" holds the
    job's parameters (sweep values included) with the types the manifest gave them.
    Multi-circuit jobs give "counts" as a list, one mapping per circuit.

    CSV has one row per measured outcome: address, one column per parameter, circuit, outcome,
    count, probability, shots, generation, remote_id, target.

    \b
    Examples:
      runner results -m examples/quickstart.yaml
      runner results job.bell -m examples/quickstart.yaml --json
      runner results 'job.rotation*' -m examples/quickstart.yaml --format csv > rotation.csv
      runner results 'job.rotation*' -m examples/quickstart.yaml --plot rotation.png
      runner results 'job.scan*' -m scan.yaml --plot scan.svg --observable ZZ
    """
    from runner import app
    from runner.render import output

    if (outcome or observable or curves) and not plot_path:
        raise UsageError("--outcome, --observable and --curves choose what --plot FILE draws; give --plot too")
    fmt = "json" if as_json else (fmt or "table")
    found = app.results(addresses, manifest=manifest, state=state, all_generations=all_generations)
    if plot_path:
        from runner.render import plot

        plot.plot(list(found), plot_path, outcome=outcome, observable=observable, curves=curves)
        click.echo(plot_path)
        return 0
    if fmt == "json":
        docs = [_result_doc(r) for r in found]
        single = len(addresses) == 1 and not any(c in addresses[0] for c in "*?") and len(docs) == 1
        output.dump_json(docs[0] if single else docs)
    elif fmt == "csv":
        output.csv_records(found.records(), found.columns())
    else:
        table_rows = [
            {
                "address": r["address"],
                "gen": r["generation"],
                "shots": r["shots"],
                "counts": output.counts_text(r["counts"][0])
                if len(r["counts"]) == 1
                else " | ".join(output.counts_text(c, 4) for c in r["counts"]),
            }
            for r in found
        ]
        output.table(table_rows, ["address", "gen", "shots", "counts"])
    return 0


def _result_doc(r: Mapping[str, Any]) -> dict[str, Any]:
    counts = r["counts"]
    return {
        "address": r["address"],
        "generation": r["generation"],
        "values": dict(r["values"]),
        "shots": r["shots"],
        "counts": counts[0] if len(counts) == 1 else counts,
        "digest": r["digest"],
        "fetched_at": r["fetched_at"],
        "remote_id": r["remote_id"],
        **{k: v for k, v in r["data"].items() if k not in ("shots", "values", "remote_id")},
        "target": r["target"],
    }


@click.command()
@manifest_option
@state_option
@json_option
@click.option("--limit", default=50, show_default=True, help="How many recent runs to show.")
def history(manifest: str | None, state: str | None, as_json: bool, limit: int) -> int:
    """Past applies: when, outcome, what changed, git commit, manifest digest, versions.

    \b
    Example:
      runner history -m examples/quickstart.yaml
    """
    from runner import app
    from runner.render import output

    runs = app.history(manifest=manifest, state=state, limit=limit)
    if as_json:
        output.dump_json(runs)
        return 0
    rows = []
    for r in runs:
        s = r["summary"] or {}
        commit = (r["git_commit"] or "")[:10] + ("+dirty" if r["git_dirty"] else "") if r["git_commit"] else "-"
        changed = (
            ", ".join(f"{k} {v}" for k, v in s.items() if v and isinstance(v, int) and k != "unchanged") or "no changes"
        )
        rows.append(
            {
                "id": r["id"],
                "started": r["started_at"],
                "operation": r["operation"],
                "outcome": r["outcome"],
                "changes": changed,
                "commit": commit,
                "manifest": (r["manifest_digest"] or "")[:12] or "-",
                "runner": r["versions"].get("runner", "-"),
            }
        )
    output.table(rows, ["id", "started", "operation", "outcome", "changes", "commit", "manifest", "runner"])
    return 0


COMMANDS = [status, show, results, history]
