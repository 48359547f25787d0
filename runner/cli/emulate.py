"""runner emulate {azure,superstaq,pasqal}: serve a provider's API on 127.0.0.1."""

from __future__ import annotations

import click


@click.command()
@click.argument("provider", type=click.Choice(["azure", "superstaq", "pasqal"]))
@click.option("--port", default=0, show_default=True, help="Port on 127.0.0.1 (0 picks a free one).")
@click.option("--latency", default=0.0, metavar="S", help="Seconds added to every API request.")
@click.option("--error-rate", default=0.0, metavar="F", help="Share of requests answered 429 or 503.")
@click.option("--retry-after", default=0.05, metavar="S", help="Retry-After seconds sent with 429/503.")
@click.option("--drop-rate", default=0.0, metavar="F", help="Share of connections dropped (half after processing).")
@click.option("--job-failure-rate", default=0.0, metavar="F", help="Share of jobs that end failed.")
@click.option("--queue-delay", default=0.0, metavar="S", help="Seconds a job waits queued before it runs.")
@click.option("--run-time", default=0.0, metavar="S", help="Seconds a job spends running.")
@click.option("--seed", default=None, type=int, help="Seed for fault injection.")
def emulate(
    provider: str,
    port: int,
    latency: float,
    error_rate: float,
    retry_after: float,
    drop_rate: float,
    job_failure_rate: float,
    queue_delay: float,
    run_time: float,
    seed: int | None,
) -> int:
    """Serve a local emulator of a provider's REST API (what the official SDK speaks).

    Jobs run on the local simulator, so results are real. Faults can also be changed while it
    runs: POST /_admin/faults with a JSON object of the same settings; GET /_admin/stats counts
    requests.

    \b
    Examples:
      runner emulate azure --port 8765
      runner emulate pasqal --port 8766 --error-rate 0.2 --drop-rate 0.05
    """
    from runner import emulators
    from runner.errors import UsageError

    try:
        faults = emulators.Faults(
            latency=latency,
            error_rate=error_rate,
            retry_after=retry_after,
            drop_rate=drop_rate,
            job_failure_rate=job_failure_rate,
            queue_delay=queue_delay,
            run_time=run_time,
        )
    except ValueError as exc:  # out of range: the flags' names are the settings' names with dashes
        raise UsageError(str(exc).replace("_", "-")) from None
    server = emulators.EmulatorServer(emulators.make(provider, faults, seed), port)
    click.echo(f"{provider} emulator on {server.url} (Ctrl-C to stop)", err=True)
    click.echo(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


COMMANDS = [emulate]
