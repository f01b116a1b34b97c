"""What a step did not commit when a service went away under it: the object store or disk of the
warehouse (``OSError``) or the catalog's database (SQLAlchemy's connection errors).

Such a failure is re-raised as ``ServiceUnavailable``, naming the assets and partitions whose
writes did not commit (a commit is whole or absent, so readers keep the previous snapshot) and
the service: the step's retry policy retries it with backoff, and the message tells whoever
reads the run why it failed and what a rerun will write. ``reporting_outages`` wraps an asset's
compute function, ``not_committed`` one write or read (the IO manager's).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import dagster as dg
from sqlalchemy.exc import InterfaceError, OperationalError

from platform_resources.storage.erasure_fence import step_fence

SERVICE_ERRORS = (OSError, OperationalError, InterfaceError)
StepContext = dg.AssetExecutionContext | dg.OutputContext | dg.InputContext


class ServiceUnavailable(Exception):
    """A service the step needed went away; what is named was not committed."""


def _service(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return "the warehouse's storage (object store or disk)"
    return "the Iceberg catalog's database"


def _partitions(context: StepContext) -> str:
    if isinstance(context, dg.OutputContext | dg.InputContext):
        if not context.has_asset_partitions:
            return ""
        keys = context.asset_partition_key_range
    elif context.has_partition_key or context.has_partition_key_range:
        keys = context.partition_key_range
    else:
        return ""
    return f" for {keys.start}" if keys.start == keys.end else f" for {keys.start}..{keys.end}"


@contextmanager
def not_committed(what: Sequence[dg.AssetKey] | str, context: StepContext) -> Iterator[None]:
    """Re-raise a service's failure in the block as ``ServiceUnavailable`` naming ``what`` (the
    assets, or a description of them)."""
    try:
        yield
    except SERVICE_ERRORS as exc:
        if isinstance(what, str):
            names = what
        else:
            names = ", ".join(k.to_user_string() for k in what) or "nothing left to write"
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ServiceUnavailable(
            f"not committed: {names}{_partitions(context)}: {_service(exc)} was unreachable "
            f"({type(exc).__name__}: {first_line[:300]}); readers keep the previous snapshot, "
            "the step's retry or a rerun writes it"
        ) from exc


def reporting_outages(compute: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """An asset's compute function (a generator) whose service failures name the assets it had
    not yet committed: each output or result it yielded before the failure was committed. It
    takes the step's erasure fence first (``erasure_fence``), before anything is read."""

    @functools.wraps(compute)
    def wrapped(*args: Any, **kwargs: Any) -> Iterator[Any]:
        context = dg.AssetExecutionContext.get()
        step_fence(context.get_step_execution_context())
        pending = list(context.selected_asset_keys)
        with not_committed(pending, context):
            for event in compute(*args, **kwargs):
                yield event  # an output is stored before the step resumes
                if isinstance(event, dg.Output):
                    done = context.asset_key_for_output(event.output_name)
                elif isinstance(event, dg.MaterializeResult):
                    done = event.asset_key
                else:
                    continue
                if done in pending:
                    pending.remove(done)

    return wrapped
