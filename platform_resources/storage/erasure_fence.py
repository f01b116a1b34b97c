"""The erasure fence: no write commits what a GDPR erasure removed while the write was computing.

A step reads its inputs, computes, then commits. An erasure running meanwhile may remove the
subject from the inputs after they were read and from the output before it is written (or find
nothing there yet): the commit would bring the subject back. So an erasure announces itself in
the catalog (a property of the ``FENCE_NAMESPACE`` namespace per erasure: ``running``, then
``done``), and each step takes the fence's state before it reads anything (``step_fence``).
A step waits for a running erasure before it reads and before it commits. ``write_frames``
compares the fence before its commit and after it: an erasure begun or ended since the step
began means the step's inputs may hold what it erased, so the write is refused (or, if the
erasure began during the commit itself, the committed write is reported) with
``ErasedMeanwhile``; the step's retry reads the erased inputs and writes the window anew.
The catalog is shared by every process and host, so the fence is too.
"""

from __future__ import annotations

import contextvars
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchNamespaceError
from sqlalchemy.exc import IntegrityError

from platform_resources.storage.catalog import load_catalog

if TYPE_CHECKING:
    from dagster._core.execution.context.system import StepExecutionContext

FENCE_NAMESPACE = "meshhouse_erasures"
#: How long a step waits for a running erasure before it reads or commits (then goes on: an
#: erasure still running is a change the commit's check refuses).
ERASURE_WAIT_S = 300
ERASURE_POLL_S = 0.5
_PREFIX = "erasure."


class ErasedMeanwhile(Exception):
    """An erasure ran while the step computed: what it wrote may hold erased data."""


@dataclass(frozen=True)
class Fence:
    """The erasures the catalog knew of, and their states, when a step began."""

    step: str  # the step that took it (run id and step key)
    erasures: dict[str, str]

    def check(self, catalog: Catalog, identifier: str, *, committed: bool) -> None:
        """Raise ``ErasedMeanwhile`` if an erasure began or ended since (one running is waited
        for first, so the step's retry starts after it)."""
        now = _after_running_erasures(catalog)
        changed = sorted(e for e, state in now.items() if self.erasures.get(e) != state)
        if not changed:
            return
        what = (
            f"{identifier} was committed while erasure {', '.join(changed)} began: "
            "the step's retry writes the window anew from the erased inputs"
            if committed
            else f"not committed: {identifier}: erasure {', '.join(changed)} ran while this step "
            "computed, so its inputs may hold what it erased; the step's retry reads them again"
        )
        raise ErasedMeanwhile(what)


_current: contextvars.ContextVar[Fence | None] = contextvars.ContextVar("erasure_fence", default=None)


def erasure_states(catalog: Catalog) -> dict[str, str]:
    """Every erasure the catalog knows of, and its state (``running`` or ``done``)."""
    try:
        properties = catalog.load_namespace_properties(FENCE_NAMESPACE)
    except NoSuchNamespaceError:
        return {}
    return {k.removeprefix(_PREFIX): v for k, v in properties.items() if k.startswith(_PREFIX)}


def _after_running_erasures(catalog: Catalog) -> dict[str, str]:
    """The erasure states once none is running (at most ``ERASURE_WAIT_S`` later)."""
    deadline = time.monotonic() + ERASURE_WAIT_S
    states = erasure_states(catalog)
    while "running" in states.values() and time.monotonic() < deadline:
        time.sleep(ERASURE_POLL_S)
        states = erasure_states(catalog)
    return states


def take_fence(catalog: Catalog, attempt: str) -> None:
    """The fence of ``attempt`` (of a step, of a writer), taken before it reads anything, once no
    erasure runs; again by the same attempt, the first is kept."""
    fence = _current.get()
    if fence is None or fence.step != attempt:
        _current.set(Fence(attempt, _after_running_erasures(catalog)))


def _attempt(step: StepExecutionContext) -> str:
    return f"{step.run_id}:{step.step.key}:{step.previous_attempt_count}"


def step_fence(step: StepExecutionContext) -> None:
    """The fence of this attempt of the step: at its first read or its compute, whichever is first."""
    take_fence(load_catalog(), _attempt(step))


def current_fence() -> Fence | None:
    """The fence a write checks: in a step's compute, only that step's own (never one a step
    before it left in this process); elsewhere (an IO manager, a script) the last one taken."""
    fence = _current.get()
    if fence is None:
        return None
    try:
        context = dg.AssetExecutionContext.get()
    except dg.DagsterInvariantViolationError:
        return fence
    return fence if fence.step == _attempt(context.get_step_execution_context()) else None


@contextmanager
def erasure_running(catalog: Catalog) -> Iterator[str]:
    """Announce an erasure for the block (``running``, then ``done`` however it ends); its id."""
    erasure = uuid.uuid4().hex[:12]
    with suppress(IntegrityError):  # another erasure created it at once
        catalog.create_namespace_if_not_exists(FENCE_NAMESPACE)
    catalog.update_namespace_properties(FENCE_NAMESPACE, updates={_PREFIX + erasure: "running"})
    try:
        yield erasure
    finally:
        catalog.update_namespace_properties(FENCE_NAMESPACE, updates={_PREFIX + erasure: "done"})
