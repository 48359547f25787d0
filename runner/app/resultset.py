"""Results as data: the value `runner.results()` returns, one typed column per parameter a job ran with.

The parameter values come from the spec the state recorded for each generation (a job's `params`,
matrix values included; a batch job's `variables`), so they keep the types the manifest gave them
(0.5 stays a float, "x" a string) and nothing is read back out of an address string.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from runner.domain.resources import Recorded
from runner.errors import RunnerError

Row = Mapping[str, Any]
# Every record has these after the address and the parameter columns, in this order.
FIXED = ("circuit", "outcome", "count", "probability", "shots", "generation", "remote_id", "target")
PANDAS_MISSING = "to_pandas needs pandas: pip install 'runner[pandas]'"


def values_of(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters a recorded spec ran with: a job's params (matrix values included), a batch job's variables."""
    found = spec.get("params") if spec.get("kind") == "job" else spec.get("variables")
    return dict(found) if isinstance(found, Mapping) else {}


def enrich(row: Row, spec: Mapping[str, Any], remote_id: str | None, device: str | None) -> dict[str, Any]:
    """A result row from the state with what the data needs beside it: values, remote id, target.

    The target is the provider's name for the backend (ionq.simulator, FRESNEL, local.aer): the one
    the result reports when it names one, else the one the generation's spec recorded.
    """
    data = row.get("data") or {}
    target = str(data["target"]) if isinstance(data, Mapping) and data.get("target") else device
    return {**row, "values": values_of(spec), "remote_id": remote_id, "target": target}


def device_of(spec: Mapping[str, Any], recorded: Mapping[str, Recorded], parent: str | None) -> str | None:
    """The provider's target name a spec recorded; a batch job's is its batch's."""
    target = spec.get("target")
    if isinstance(target, Mapping) and target.get("target"):
        return str(target["target"])
    above = recorded.get(parent) if parent else None
    return device_of(above.spec, recorded, None) if above is not None else None


def current(rows: Sequence[Row], recorded: Mapping[str, Recorded]) -> list[dict[str, Any]]:
    """Current-generation result rows, enriched from the recorded resources."""
    out = []
    for row in rows:
        rec = recorded.get(row["address"])
        if rec is None:
            out.append(enrich(row, {}, None, None))
            continue
        out.append(enrich(row, rec.spec, rec.remote_id, device_of(rec.spec, recorded, rec.parent)))
    return out


class ResultSet:
    """Measured counts of some jobs: `.records()` as plain dicts, `.to_pandas()`, an HTML table in Jupyter.

    Iterating (or indexing) gives one row per address and generation, as `runner results --json`
    shows them: address, generation, shots, counts (one mapping per circuit), data, values,
    remote_id, target.
    """

    def __init__(self, rows: Sequence[Row]) -> None:
        self.rows: tuple[Row, ...] = tuple(rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __getitem__(self, index: int) -> Row:
        return self.rows[index]

    def __repr__(self) -> str:
        return f"<ResultSet: {len(self.rows)} result(s), parameters {list(self.variables) or 'none'}>"

    @property
    def variables(self) -> tuple[str, ...]:
        """Every parameter name any row ran with, sorted: one column each in records."""
        return tuple(sorted({k for r in self.rows for k in r.get("values", {})}))

    def columns(self) -> list[str]:
        """address, one column per parameter (renamed param_NAME if it clashes with a fixed one), then FIXED."""
        return ["address", *(column_name(v) for v in self.variables), *FIXED]

    def records(self) -> list[dict[str, Any]]:
        """One plain dict per address, generation, circuit and measured outcome (never-seen outcomes have none)."""
        names = {v: column_name(v) for v in self.variables}
        out: list[dict[str, Any]] = []
        for r in self.rows:
            values = r.get("values", {})
            head = {"address": r["address"], **{names[v]: values.get(v) for v in self.variables}}
            for index, counts in enumerate(r["counts"]):
                total = sum(counts.values())
                for bits, n in sorted(counts.items()):
                    out.append(
                        {
                            **head,
                            "circuit": index,
                            "outcome": bits,
                            "count": n,
                            "probability": n / total if total else 0.0,
                            "shots": r["shots"],
                            "generation": r["generation"],
                            "remote_id": r.get("remote_id"),
                            "target": r.get("target"),
                        }
                    )
        return out

    def to_pandas(self) -> Any:
        """The records as a pandas DataFrame (needs the pandas extra; imported only here)."""
        try:
            import pandas
        except ImportError:
            raise RunnerError(PANDAS_MISSING) from None
        return pandas.DataFrame.from_records(self.records(), columns=self.columns())

    def _repr_html_(self) -> str:
        from runner.render import tables

        return tables.results_html(self)


def column_name(variable: str) -> str:
    return f"param_{variable}" if variable in ("address", *FIXED) else variable
