"""Named kill points: where a test may have the platform's own process killed, mid-work.

``MESHHOUSE_KILL_AT=<point>`` makes the process SIGKILL itself when it reaches that point (for
example between an Iceberg commit and the acks that follow it), so fault tests kill the real
process at the one moment that matters instead of racing a timer against it;
``<point>#<n>`` kills it on the n-th time it gets there (the third commit of a run, say).
``MESHHOUSE_FAULT_TRACE=<file>`` appends each point reached to that file, so a trial knows how
often a clean run passes each one.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

KILL_AT = "MESHHOUSE_KILL_AT"
FAULT_TRACE = "MESHHOUSE_FAULT_TRACE"
_reached: Counter[str] = Counter()


def kill_point(name: str) -> None:
    """SIGKILL this process if ``MESHHOUSE_KILL_AT`` names this point (and this occurrence)."""
    if trace := os.environ.get(FAULT_TRACE):
        with open(trace, "a") as out:
            out.write(name + "\n")
    point, _, nth = os.environ.get(KILL_AT, "").partition("#")
    if point != name:
        return
    _reached[name] += 1
    if _reached[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
