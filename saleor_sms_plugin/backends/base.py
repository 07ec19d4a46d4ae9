"""The interface every sending backend implements."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from ..exceptions import LeaseLost, SmsError, TransientSmsError

if TYPE_CHECKING:
    from ..conf import ChannelSettings


_local = threading.local()


def sending_threads(size: int) -> ThreadPoolExecutor:
    """The calling thread's pool of `size` threads for sending, kept between its batches.

    One pool per dispatching thread, so that batch loops running side by side each have
    their `size` texts in flight. Threads start as they are first needed; the pool goes
    with the thread that owns it. Keyed by process id too: a pool does not survive a fork
    (Celery's prefork workers), the child makes its own.
    """
    pools: dict[tuple[int, int], ThreadPoolExecutor] = _local.__dict__.setdefault("pools", {})
    key = (os.getpid(), size)
    if key not in pools:
        pools[key] = ThreadPoolExecutor(size, thread_name_prefix="sms-send")
    return pools[key]


class Gate(Protocol):
    """What a caller holding the texts' rows (`leases.Lease`) is asked while they go out."""

    def admits(self, message_id: int | None) -> bool:
        """Asked in a sending thread right before each request; no I/O."""
        ...

    def keep(self) -> float:
        """Called in the calling thread before the first request and then while it waits
        for answers; returns the seconds it may wait before calling again."""
        ...


class _ForMessage(Protocol):
    @property
    def message_id(self) -> int | None: ...


def run_concurrently[Item: _ForMessage, Result](
    call: Callable[[Item], Result],
    items: Sequence[Item],
    concurrency: int,
    gate: Gate | None = None,
) -> list[Result | LeaseLost]:
    """`call` for each item, `concurrency` at a time on the calling thread's sending threads;
    the results in order. With a gate, an item the gate does not admit right before its turn
    gets `LeaseLost` instead, and the gate is kept while the calling thread waits."""
    if gate is None:
        if len(items) <= 1 or concurrency <= 1:
            return [call(item) for item in items]
        return list(sending_threads(concurrency).map(call, items))

    def gated(item: Item) -> Result | LeaseLost:
        if not gate.admits(item.message_id):
            return LeaseLost(f"message {item.message_id} is no longer held")
        return call(item)

    gate.keep()
    pool = sending_threads(max(concurrency, 1))
    futures = [pool.submit(gated, item) for item in items]
    try:
        return [_result_keeping(future, gate) for future in futures]
    except BaseException:
        for future in futures:
            future.cancel()  # none starts after its caller gave up (those under way finish)
        raise


def _result_keeping[Result](future: Future[Result], gate: Gate) -> Result:
    while True:
        try:
            return future.result(timeout=gate.keep())
        except FutureTimeout:
            continue  # keep the gate again, then wait on


@dataclass(frozen=True)
class Lookup:
    """Did a text with this body go to `to` since `since`?"""

    to: str
    body: str
    since: datetime
    message_id: int | None = None


@dataclass(frozen=True)
class OutgoingSms:
    to: str
    body: str
    sender: str = ""
    status_callback: str = ""
    message_id: int | None = None


@dataclass(frozen=True)
class SendResult:
    provider_id: str
    provider_status: str = "queued"
    segments: int | None = None


Outcome = SendResult | SmsError
#: A lookup's answer: the provider's id of the text, None when it did not go out, or the error.
Found = str | None | SmsError


class SmsBackend:
    """Sends texts for one channel.

    Subclasses implement `send` (and `find_sent` when the provider can be asked); `send_many`
    and `find_sent_many` run them `concurrency` at a time, which is what makes a batch fast
    when the provider answers in tens of milliseconds.
    """

    concurrency = 1

    def __init__(self, channel: ChannelSettings) -> None:
        self.channel = channel

    def send(self, sms: OutgoingSms) -> SendResult:
        raise NotImplementedError

    def send_many(self, batch: Sequence[OutgoingSms], gate: Gate | None = None) -> list[Outcome]:
        """One outcome per text, in order: a result, or the error that stopped it.

        With a gate, a text goes out only if the gate admits it right before its turn
        (`LeaseLost` otherwise), and the gate is kept while the answers are awaited.
        """
        return run_concurrently(self._outcome, batch, self.concurrency, gate)

    def find_sent_many(self, lookups: Sequence[Lookup], gate: Gate | None = None) -> list[Found]:
        """`find_sent` for each lookup, in order, on the sending threads as `send_many`: the
        provider id, None, or the error that stopped the lookup (`LeaseLost` as there)."""
        return run_concurrently(self._found, lookups, self.concurrency, gate)

    def find_sent(self, to: str, body: str, since: datetime) -> str | None:
        """The provider id of a text to `to` with this body accepted since `since`, if any.

        Used after a worker died between sending and recording, to decide whether a text
        went out. Backends that cannot look it up return None.
        """
        return None

    def _found(self, lookup: Lookup) -> Found:
        try:
            return self.find_sent(lookup.to, lookup.body, lookup.since)
        except SmsError as error:
            return error
        except OSError as error:
            return TransientSmsError(f"network error: {error}")

    def _outcome(self, sms: OutgoingSms) -> Outcome:
        try:
            return self.send(sms)
        except SmsError as error:
            return error
        except OSError as error:
            return TransientSmsError(f"network error: {error}")
