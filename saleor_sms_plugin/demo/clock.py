"""The simulated clock of the demo's processes.

The core and Django read the time in one place, `django.utils.timezone.now()`: when a text is
due and when it went out, the frequency cap and the quiet hours, a link's expiry and its click,
a delivery report, a STOP, a conversion, `auto_now` columns, the statistics' "last 30 days".
`install()` makes that function answer the time the demo has set, in the process that calls
it: the demo itself (with its web routes) and its Celery worker. Nothing outside the demo
package installs it; a store's processes read the wall clock as always.

The worker learns the time from the tasks: every task published in a process with the clock
installed carries the time of its publication in a message header, and the worker takes that
time when the task starts. A task the demo publishes at simulated 10:15 therefore runs at
10:15, as it would with an idle worker; so do the tasks the core publishes on its own (a text
to send once an order commits, texts released by a sent confirmation).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from celery.signals import before_task_publish, task_prerun
from django.utils import timezone

HEADER = "saleor_sms_demo_now"

_wall_clock: Callable[[], datetime] = timezone.now
_simulated: datetime | None = None


def now() -> datetime:
    """The simulated time once set (the wall clock before)."""
    return _simulated or _wall_clock()


def set_time(moment: datetime) -> None:
    """Move this process's clock to `moment` (aware); it stays there until moved again."""
    global _simulated
    if moment.tzinfo is None:
        raise ValueError("the simulated time must be timezone-aware")
    _simulated = moment


def install() -> None:
    """Make `django.utils.timezone.now` read this clock, and carry it through Celery tasks."""
    timezone.now = now  # the one clock Django and the core read
    before_task_publish.connect(_stamp, weak=False, dispatch_uid=HEADER)
    task_prerun.connect(_adopt, weak=False, dispatch_uid=HEADER)


def _stamp(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    if headers is not None and _simulated is not None:
        headers[HEADER] = _simulated.isoformat()


def _adopt(task: Any = None, **kwargs: Any) -> None:
    stamped = task.request.get(HEADER) if task is not None else None
    if stamped:
        set_time(datetime.fromisoformat(stamped))
