"""Named kill points: where a test may have the platform's own process killed, mid-work.

``MESHHOUSE_KILL_AT=<point>`` makes the process SIGKILL itself when it reaches that point (for
example between an Iceberg commit and the acks that follow it), so fault tests kill the real
process at the one moment that matters instead of racing a timer against it.
"""

from __future__ import annotations

import os
import signal

KILL_AT = "MESHHOUSE_KILL_AT"


def kill_point(name: str) -> None:
    """SIGKILL this process if ``MESHHOUSE_KILL_AT`` names this point."""
    if os.environ.get(KILL_AT) == name:
        os.kill(os.getpid(), signal.SIGKILL)
