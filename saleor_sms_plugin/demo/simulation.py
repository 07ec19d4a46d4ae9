"""Weeks in seconds: the clock jumps from one moment that matters to the next.

A moment is when a shopper does something, or when a text is due. At each, the demo does what
Celery beat does every 15 and 30 seconds in a store, publishes the plugin's periodic tasks, and
waits until the worker has done them (and whatever the shoppers' actions handed it) and the
provider's delivery reports have come back; then it writes down the state of every text and
moves the clock on. Nothing sleeps.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import datetime

from celery.exceptions import TimeoutError as CeleryTimeoutError
from django.db.models import Min

from ..constants import Status
from ..models import InboxEvent, Message
from ..periodic import EVENTS_TASK, SCHEDULE
from . import clock
from .shoppers import Step, World
from .timeline import State

# A moment comes back only while the worker releases texts at that very time (a confirmation
# sent releases the thank-you waiting for it); more often means a text that cannot be sent.
MAX_REPEATS = 5
WORKER_TIMEOUT = 60.0
# The periodic tasks beat runs every few seconds (housekeeping, hourly, has nothing to do in the
# story); recorded events first, so that an order whose own task was lost still gets its texts
# at the moment it was placed.
BEAT = tuple(
    sorted(
        (task for _, task, seconds in SCHEDULE if seconds < 60),
        key=lambda task: task != EVENTS_TASK,
    )
)


def play(world: World, script: Iterable[Step]) -> datetime:
    """Play the script and every text it leads to, until nothing is left to send; returns the
    last moment. Raises RuntimeError when the worker stops answering or a text stays due."""
    steps = deque(sorted(script, key=lambda step: step.at))
    if not steps:
        raise ValueError("the script is empty")
    now, repeats = steps[0].at, 0
    while (moment := _next_moment(steps)) is not None:
        moment = max(moment, now)
        repeats = repeats + 1 if moment == now else 0
        if repeats > MAX_REPEATS:
            raise RuntimeError(f"texts stay due at {moment.isoformat()} and are not sent")
        now = moment
        clock.set_time(now)
        while steps and steps[0].at <= now:
            step = steps.popleft()
            step.action(world, step.shopper)
        tick(world, now)
        observe(world, now)
    _check_events_handled()
    return now


def _next_moment(steps: deque[Step]) -> datetime | None:
    due = Message.objects.filter(status=Status.SCHEDULED).aggregate(first=Min("due_at"))["first"]
    candidates = [moment for moment in (due, steps[0].at if steps else None) if moment]
    return min(candidates, default=None)


def tick(world: World, now: datetime) -> None:
    """Run the periodic tasks as beat would, and wait until they are done and reported on."""
    from .worker import app, clock_reading

    for task in BEAT:
        app.send_task(task)
    try:
        # Queued after those (and after what the shoppers' actions handed the worker), so its
        # answer means they are done; it also shows that the worker ran at the simulated time.
        reading = datetime.fromisoformat(clock_reading.delay().get(timeout=WORKER_TIMEOUT))
        # Each accepted text gets two signed status callbacks (sent, delivered).
        world.twilio.wait_for_callbacks(2 * len(world.twilio.messages), timeout=WORKER_TIMEOUT)
    except (TimeoutError, CeleryTimeoutError) as error:
        raise RuntimeError(f"the worker or the provider did not finish in time: {error}") from error
    if reading != now:
        raise RuntimeError(f"the worker ran at {reading.isoformat()}, not {now.isoformat()}")


def _check_events_handled() -> None:
    left = InboxEvent.objects.filter(processed_at__isnull=True).first()
    if left is not None:
        raise RuntimeError(f"the worker did not handle {left}: {left.last_error or 'no error'}")


def observe(world: World, now: datetime) -> None:
    rows = Message.objects.values_list(
        "pk", "status", "reason", "due_at", "error_code", "error_message"
    )
    for pk, status, reason, due_at, error_code, error_message in rows:
        world.record.see(pk, State(now, status, reason, due_at, error_code, error_message))
