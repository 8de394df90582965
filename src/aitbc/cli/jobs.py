"""``aitbc jobs submit|get|list|watch|cancel|result``: compute jobs from the command line."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from .. import AITBCClient
from ..models import Job, JobResult, JobState
from .failures import EXIT_FAILED, Failure
from .inputs import page_size, parse_amount, read_json_object
from .invocation import Invocation, with_invocation
from .live import follow_job, state_line
from .output import fields_table, list_table, money, short_json, when

jobs_app = typer.Typer(
    help="Submit, inspect, follow and cancel compute jobs.", no_args_is_help=True
)

JobIdArg = Annotated[str, typer.Argument(help="The job id (job_...).", show_default=False)]
WaitTimeoutOpt = Annotated[
    float, typer.Option("--wait-timeout", help="Give up waiting after this many seconds.")
]
PollOpt = Annotated[
    bool, typer.Option("--poll", help="Poll the job instead of streaming its events.")
]


def register(app: typer.Typer) -> None:
    """Add ``jobs`` to the ``aitbc`` command."""
    app.add_typer(jobs_app, name="jobs")


@jobs_app.command("submit")
@with_invocation()
def submit(
    inv: Invocation,
    job_type: Annotated[str, typer.Argument(help="Job type, e.g. echo, sha256, matmul.")],
    price: Annotated[str, typer.Option("--price", help="Price in base units (escrowed).")],
    payload: Annotated[
        str, typer.Option("--payload", help="JSON object, @file or @- (stdin).")
    ] = "{}",
    ttl: Annotated[
        int | None, typer.Option("--ttl", help="Seconds before the job expires.")
    ] = None,
    constraints: Annotated[
        str | None, typer.Option("--constraints", help="Constraints as JSON, @file or @-.")
    ] = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", help="A model the miner must serve (repeatable).")
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="Required region.")] = None,
    min_gpu_memory_gb: Annotated[
        float | None, typer.Option("--min-gpu-memory-gb", help="Least GPU memory.")
    ] = None,
    max_price: Annotated[
        str | None, typer.Option("--max-price", help="Highest price a miner may ask.")
    ] = None,
    idempotency_key: Annotated[
        str | None, typer.Option("--idempotency-key", help="Reuse to submit at most once.")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow the job live until it ends.")
    ] = False,
    wait_timeout: WaitTimeoutOpt = 600.0,
    poll: PollOpt = False,
) -> None:
    """Submit a job; with --wait, follow it live and print its result.

    Exit status 1 when a waited-for job does not complete.
    """
    try:
        body = _job_body(
            job_type, price, payload, ttl, constraints, model, region, min_gpu_memory_gb, max_price
        )
    except ValueError as exc:
        inv.fail_with(exc)

    async def run(client: AITBCClient) -> tuple[Job, JobResult | None]:
        job = await client.jobs.create(body, idempotency_key=idempotency_key)
        if not wait:
            return job, None
        inv.out.note(f"submitted {job.id}; following it")
        final = await follow_job(
            client, job.id, inv.out, stream=not poll, timeout=wait_timeout, quiet=inv.out.json_mode
        )
        done = final.state is JobState.COMPLETED
        return final, (await client.jobs.result(job.id)) if done else None

    job, result = inv.run(run)
    if not wait:
        inv.out.result(job, lambda c: c.print(job_table(job)))
        return
    inv.out.result({"job": job, "result": result}, lambda c: _show_final(c, job, result))
    _exit_unless_completed(inv, job)


def _job_body(
    job_type: str,
    price: str,
    payload: str,
    ttl: int | None,
    constraints: str | None,
    models: list[str] | None,
    region: str | None,
    min_gpu: float | None,
    max_price: str | None,
) -> dict[str, Any]:
    """The POST /v1/jobs body; ConfigurationError for anything malformed."""
    body: dict[str, Any] = {
        "job_type": job_type,
        "payload": read_json_object(payload, "--payload"),
        "price": parse_amount(price, "--price"),
    }
    if ttl is not None:
        body["ttl_seconds"] = ttl
    wanted = read_json_object(constraints, "--constraints") if constraints else {}
    extra = {
        "models": models or None,
        "region": region,
        "min_gpu_memory_gb": min_gpu,
        "max_price": parse_amount(max_price, "--max-price"),
    }
    wanted.update({k: v for k, v in extra.items() if v is not None})
    if wanted:
        body["constraints"] = wanted
    return body


@jobs_app.command("get")
@with_invocation()
def get(
    inv: Invocation,
    job_id: JobIdArg,
) -> None:
    """Show one job as it stands now."""
    job = inv.run(lambda client: client.jobs.get(job_id))
    inv.out.result(job, lambda c: c.print(job_table(job)))


@jobs_app.command("list")
@with_invocation()
def list_jobs(
    inv: Invocation,
    state: Annotated[
        str | None, typer.Option("--state", help="Only jobs in this state (e.g. QUEUED).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many jobs at most.")] = 20,
) -> None:
    """List your jobs, newest first."""
    wanted = _state(inv, state)
    jobs = inv.run(
        lambda client: client.jobs.list(state=wanted, limit=page_size(limit)).to_list(max(limit, 0))
    )
    rows = [
        (j.id, j.job_type, j.state, money(j.price), j.miner_id, when(j.created_at)) for j in jobs
    ]
    columns = ("id", "type", "state", "price", "miner", "created")
    inv.out.result({"items": jobs}, lambda c: c.print(list_table("jobs", columns, rows)))


def _state(inv: Invocation, state: str | None) -> str | None:
    if state is None:
        return None
    if state.upper() not in JobState.__members__:
        choices = ", ".join(s.value for s in JobState)
        inv.fail_with(ValueError(f"--state must be one of {choices}, got {state!r}"))
    return JobState[state.upper()].value


@jobs_app.command("watch")
@with_invocation()
def watch(
    inv: Invocation,
    job_id: JobIdArg,
    poll: PollOpt = False,
    wait_timeout: WaitTimeoutOpt = 600.0,
) -> None:
    """Follow a job live until it ends (events stream in; --poll to poll instead).

    With --json, prints one JSON line per event. Exit status 1 unless it COMPLETED.
    """
    job = inv.run(
        lambda client: follow_job(client, job_id, inv.out, stream=not poll, timeout=wait_timeout)
    )
    if not inv.out.json_mode:
        state_line(inv.out.console, job)
    _exit_unless_completed(inv, job)


@jobs_app.command("cancel")
@with_invocation()
def cancel(
    inv: Invocation,
    job_id: JobIdArg,
) -> None:
    """Cancel a QUEUED or RUNNING job; its price is refunded."""
    job = inv.run(lambda client: client.jobs.cancel(job_id))
    inv.out.result(job, lambda c: state_line(c, job))


@jobs_app.command("result")
@with_invocation()
def result(
    inv: Invocation,
    job_id: JobIdArg,
) -> None:
    """Print a completed job's result and receipt id."""
    answer = inv.run(lambda client: client.jobs.result(job_id))
    inv.out.result(answer, lambda c: c.print(result_table(answer)))


def job_table(job: Job) -> Any:
    """The job as a two-column table."""
    return fields_table(
        f"job {job.id}",
        [
            ("type", job.job_type),
            ("state", job.state.value),
            ("price", money(job.price)),
            ("payload", short_json(job.payload)),
            ("constraints", short_json(job.constraints)),
            ("miner", job.miner_id),
            ("attempts", job.attempts),
            ("created", when(job.created_at)),
            ("expires", when(job.expires_at)),
            ("error", job.error),
            ("receipt", job.receipt_id),
        ],
    )


def result_table(answer: JobResult) -> Any:
    """A completed job's result and receipt as a table."""
    receipt = answer.receipt
    return fields_table(
        f"result of {answer.job_id}",
        [
            ("state", answer.state.value),
            ("result", short_json(answer.result, 400)),
            ("receipt", receipt.receipt_id),
            ("miner", receipt.miner_id),
            ("units", receipt.units),
            ("price", money(receipt.price)),
            ("output hash", receipt.output_hash),
        ],
    )


def _show_final(console: Console, job: Job, answer: JobResult | None) -> None:
    state_line(console, job)
    if answer is not None:
        console.print(result_table(answer))


def _exit_unless_completed(inv: Invocation, job: Job) -> None:
    if job.state is not JobState.COMPLETED:
        detail = f": {job.error}" if job.error else ""
        message = f"job {job.id} ended {job.state.value}{detail}"
        inv.fail(Failure(message, f"job_{job.state.value.lower()}", EXIT_FAILED))
