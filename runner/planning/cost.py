"""Cost estimates for the jobs a plan submits, totals per currency, and the budget guard. Pure, no I/O.

Amounts are Decimals throughout and are rounded only for display. Currencies are never added to
each other: a total and a budget limit are always per currency.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from runner.domain.model import Budget, Manifest, Target
from runner.domain.resources import Desired, Expansion, Recorded
from runner.errors import BudgetExceededError
from runner.planning import pricing
from runner.planning.gates import CountError, GateCache
from runner.planning.pricing import EXACT, FORMULA, UNKNOWN, ZERO, Estimate, Gates, Line, Work

if TYPE_CHECKING:
    from runner.planning.changes import Plan

__all__ = [
    "EXACT",
    "FORMULA",
    "UNKNOWN",
    "Budget",
    "Estimate",
    "Line",
    "actuals",
    "as_json",
    "budget_of",
    "budget_problem",
    "check_budget",
    "estimate",
    "for_plan",
    "money",
    "plain",
    "section_json",
    "section_text",
    "text_lines",
    "totals",
]

PRICED_KINDS = ("job", "batch_job")
COSTLY_ACTIONS = ("create", "replace")
CENT = Decimal("0.01")


# estimating ----------------------------------------------------------------------------------
def estimate(expansion: Expansion) -> list[Estimate]:
    """An estimate for every desired job and batch job."""
    return _estimates([r for r in expansion.resources if r.kind in PRICED_KINDS], expansion)


def for_plan(plan: Plan, expansion: Expansion) -> list[Estimate]:
    """Estimates for the jobs the plan would submit (create or replace), in plan order."""
    wanted = [c.desired for c in plan.changes if c.action in COSTLY_ACTIONS and c.desired is not None]
    return _estimates([d for d in wanted if d.kind in PRICED_KINDS], expansion)


def _estimates(resources: Sequence[Desired], expansion: Expansion) -> list[Estimate]:
    cache = GateCache(expansion.programs)
    return [_one(d, expansion.targets[d.target], cache) for d in resources]


def _one(d: Desired, target: Target, cache: GateCache) -> Estimate:
    if d.kind == "batch_job":
        return pricing.price(d.address, target, Work(shots=int(d.spec["runs"])))
    programs = [str(p["digest"]) for p in d.spec["programs"]]
    work = Work(shots=int(d.spec["shots"]), circuits=len(programs))
    style = pricing.lowering(target)
    if style is not None:
        try:
            work = Work(work.shots, work.circuits, sum((cache.gates(p, style) for p in programs), Gates()))
        except CountError as exc:
            return pricing.unknown(d.address, str(exc))
    return pricing.price(d.address, target, work)


# totals and the budget -----------------------------------------------------------------------
def budget_of(manifest: Manifest) -> Budget | None:
    """The manifest's budget, if it sets one."""
    return manifest.budget


def totals(estimates: Iterable[Estimate]) -> dict[str, Decimal]:
    """Known amounts summed per currency (unknown estimates have no currency and are left out)."""
    out: dict[str, Decimal] = {}
    for e in estimates:
        if e.currency is not None:
            out[e.currency] = out.get(e.currency, ZERO) + e.amount
    return dict(sorted(out.items()))


def check_budget(estimates: Sequence[Estimate], budget: Mapping[str, Decimal], allow_unknown: bool) -> None:
    """Raise BudgetExceededError when a currency's total passes its limit, or costs are unknown and not allowed."""
    problem = budget_problem(estimates, budget, allow_unknown)
    if problem is not None:
        raise BudgetExceededError(problem)


def budget_problem(estimates: Sequence[Estimate], budget: Mapping[str, Decimal], allow_unknown: bool) -> str | None:
    """Why the budget refuses these estimates, in one line, or None."""
    parts = []
    over = _over(estimates, budget)
    if over:
        parts.append("over budget: " + "; ".join(f"{c} {_beyond(t, b)} planned, budget {plain(b)}" for c, t, b in over))
    unknown = [e.address for e in estimates if e.basis == UNKNOWN]
    if unknown and not allow_unknown:
        parts.append(
            f"the cost of {len(unknown)} planned job(s) is unknown ({_some(unknown)}): add a price table to their "
            "targets, or set budget.allow_unknown: true to accept them"
        )
    return "; ".join(parts) or None


def _over(estimates: Sequence[Estimate], budget: Mapping[str, Decimal]) -> list[tuple[str, Decimal, Decimal]]:
    planned = totals(estimates)
    return [(c, planned[c], limit) for c, limit in sorted(budget.items()) if planned.get(c, ZERO) > limit]


def _beyond(total: Decimal, limit: Decimal) -> str:
    """A total over its limit, with enough places that it does not look equal to it (250.004 vs 250)."""
    return money(total) if total.quantize(CENT, rounding=ROUND_HALF_UP) > limit else plain(total)


def _some(addresses: Sequence[str], shown: int = 3) -> str:
    more = len(addresses) - shown
    return ", ".join(addresses[:shown]) + (f" and {more} more" if more > 0 else "")


# actual costs --------------------------------------------------------------------------------
def actuals(rows: Iterable[Recorded | Mapping[str, Any]]) -> dict[str, Decimal]:
    """Costs providers reported (detail["cost"] = {currency, amount, ...}, or a list of them), summed per currency."""
    out: dict[str, Decimal] = {}
    for row in rows:
        detail = row.detail if isinstance(row, Recorded) else row.get("detail") or {}
        for currency, amount in _reported(detail.get("cost") if isinstance(detail, Mapping) else None):
            out[currency] = out.get(currency, ZERO) + amount
    return dict(sorted(out.items()))


def _reported(raw: Any) -> list[tuple[str, Decimal]]:
    found = []
    for entry in raw if isinstance(raw, list) else [raw]:
        if not isinstance(entry, Mapping) or not entry.get("currency") or entry.get("amount") is None:
            continue
        try:
            amount = Decimal(str(entry["amount"]))
        except InvalidOperation:
            continue  # not a number: nothing to add
        if amount.is_finite():
            found.append((str(entry["currency"]), amount))
    return found


# rendering -----------------------------------------------------------------------------------
def money(amount: Decimal) -> str:
    """An amount for people: two places, and "<0.01" rather than a misleading 0.00."""
    shown = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    return "<0.01" if shown == 0 and amount > 0 else f"{shown:f}"


def plain(amount: Decimal) -> str:
    """An amount exactly, without trailing zeros or exponent: 250, 0.0002205."""
    return f"{amount.normalize():f}" if amount else "0"


def as_json(e: Estimate) -> dict[str, Any]:
    """One estimate for JSON output; amounts are exact decimal strings."""
    return {
        "address": e.address,
        "currency": e.currency,
        "amount": plain(e.amount),
        "basis": e.basis,
        "source": e.source,
        "lines": [_line_json(line) for line in e.lines],
    }


def _line_json(line: Line) -> dict[str, str]:
    return {
        "dimension": line.dimension,
        "unit": line.unit,
        "quantity": plain(line.quantity),
        "unit_price": plain(line.unit_price),
        "amount": plain(line.amount),
    }


def text_lines(e: Estimate) -> list[str]:
    """One estimate for people: a headline, then its priced lines indented."""
    if e.basis == UNKNOWN:
        return [f"{e.address}: cost unknown ({e.source})"]
    head = f"{e.address}: {e.currency} {money(e.amount)} ({e.basis}: {e.source})"
    return [head, *(_line_text(line) for line in e.lines)]


def _line_text(line: Line) -> str:
    return f"  {line.dimension}: {plain(line.quantity)} {line.unit} x {plain(line.unit_price)} = {plain(line.amount)}"


def section_json(estimates: Sequence[Estimate], budget: Budget | None) -> dict[str, Any]:
    """The `cost` section of `plan --json`: estimates, totals per currency, and the budget's verdict."""
    out: dict[str, Any] = {
        "estimates": [as_json(e) for e in estimates],
        "totals": {c: plain(t) for c, t in totals(estimates).items()},
        "unknown": sum(1 for e in estimates if e.basis == UNKNOWN),
        "budget": None,
    }
    if budget is not None:
        problem = budget_problem(estimates, budget.limits, budget.allow_unknown)
        out["budget"] = {
            "limits": {c: plain(v) for c, v in sorted(budget.limits.items())},
            "allow_unknown": budget.allow_unknown,
            "exceeded": [c for c, _, _ in _over(estimates, budget.limits)],
            "ok": problem is None,
            "problem": problem,
        }
    return out


def section_text(estimates: Sequence[Estimate], budget: Budget | None) -> list[str]:
    """Lines for the text plan; none when there is no budget and nothing costs anything or is unknown."""
    planned = totals(estimates)
    unknown = [e.address for e in estimates if e.basis == UNKNOWN]
    if budget is None and not unknown and not any(planned.values()):
        return []
    listed = ", ".join(f"{c} {money(t)}" for c, t in planned.items())
    known = len(estimates) - len(unknown)
    lines = [f"Estimated cost: {listed} for {known} job(s)" if listed else "Estimated cost: no priced jobs to submit"]
    if unknown:
        why = "no price known; add a price table to their targets"
        lines.append(f"Unknown cost: {len(unknown)} job(s) ({_some(unknown)}): {why}")
    if budget is not None:
        lines.extend(_budget_lines(planned, unknown, budget))
    return lines


def _budget_lines(planned: Mapping[str, Decimal], unknown: Sequence[str], budget: Budget) -> list[str]:
    status = [
        f"{c} {money(planned.get(c, ZERO))} of {plain(limit)} ({'over' if planned.get(c, ZERO) > limit else 'ok'})"
        for c, limit in sorted(budget.limits.items())
    ]
    lines = [f"Budget: {', '.join(status)}"] if status else []
    if unknown and not budget.allow_unknown:
        lines.append("Budget: jobs of unknown cost are refused (set budget.allow_unknown: true to accept them)")
    return lines
