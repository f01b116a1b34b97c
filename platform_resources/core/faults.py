"""Named kill points: where a test may have the platform's own process killed, mid-work.

``MESHHOUSE_KILL_AT=<point>`` makes the process SIGKILL itself when it reaches that point (for
example between an Iceberg commit and the acks that follow it), so fault tests kill the real
process at the one moment that matters instead of racing a timer against it;
``<point>#<n>`` kills it on the n-th time it gets there (the third commit of a run, say).
``MESHHOUSE_PAUSE_AT=<point>[#<n>]`` stops the process there instead (SIGSTOP), so a trial can
take a server away at that moment and let it go on (SIGCONT) into the outage.
``MESHHOUSE_FAULT_TRACE=<file>`` appends each point reached to that file, so a trial knows how
often a clean run passes each one (and, paused, which one it stopped at).
"""

from __future__ import annotations

import os
import signal
from collections import Counter

KILL_AT = "MESHHOUSE_KILL_AT"
PAUSE_AT = "MESHHOUSE_PAUSE_AT"
FAULT_TRACE = "MESHHOUSE_FAULT_TRACE"
_reached: Counter[str] = Counter()


def kill_point(name: str) -> None:
    """SIGKILL (``MESHHOUSE_KILL_AT``) or SIGSTOP (``MESHHOUSE_PAUSE_AT``) this process if that
    setting names this point and this occurrence of it."""
    if trace := os.environ.get(FAULT_TRACE):
        with open(trace, "a") as out:
            out.write(name + "\n")
    _reached[name] += 1
    for setting, sig in ((KILL_AT, signal.SIGKILL), (PAUSE_AT, signal.SIGSTOP)):
        point, _, nth = os.environ.get(setting, "").partition("#")
        if point == name and _reached[name] == int(nth or 1):
            os.kill(os.getpid(), sig)
