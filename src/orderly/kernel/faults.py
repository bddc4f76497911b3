"""Fault injection for crash tests: the process dies at a named point.

Inert unless `ORDERLY_CRASH_AFTER` names a point; then the first process of a deployment
to reach it exits at once (as if killed), after writing `ORDERLY_CRASH_MARKER` so that, once
restarted, it runs on. Points are `checkout.committed` (a checkout's order and saga are
committed, the answer not yet sent), `during:<consumer>:<type>` (a message was handled,
its transaction not yet committed), `after:<consumer>:<type>` (committed, not yet
acknowledged) and `erp.called` (the ERP answered a sales order call, its answer not yet
stored).
"""

import os
from pathlib import Path

POINT = os.environ.get("ORDERLY_CRASH_AFTER", "")
MARKER = os.environ.get("ORDERLY_CRASH_MARKER", "")


def crash_at(point: str) -> None:
    if not POINT or point != POINT:
        return
    if MARKER:
        marker = Path(MARKER)
        try:
            with marker.open("x") as written:  # only the first process to get here
                written.write(point)
        except FileExistsError:
            return
    os._exit(137)
