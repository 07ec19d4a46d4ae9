"""The interface every sending backend implements."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..exceptions import SmsError, TransientSmsError

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


class SmsBackend:
    """Sends texts for one channel.

    Subclasses implement `send`; `send_many` runs sends concurrently, which is what makes a
    batch fast when the provider answers in tens of milliseconds.
    """

    concurrency = 1

    def __init__(self, channel: ChannelSettings) -> None:
        self.channel = channel

    def send(self, sms: OutgoingSms) -> SendResult:
        raise NotImplementedError

    def send_many(self, batch: Sequence[OutgoingSms]) -> list[Outcome]:
        """One outcome per text, in order: a result, or the error that stopped it."""
        if len(batch) <= 1 or self.concurrency <= 1:
            return [self._outcome(sms) for sms in batch]
        return list(sending_threads(self.concurrency).map(self._outcome, batch))

    def find_sent(self, to: str, body: str, since: datetime) -> str | None:
        """The provider id of a text to `to` with this body accepted since `since`, if any.

        Used after a worker died between sending and recording, to decide whether a text
        went out. Backends that cannot look it up return None.
        """
        return None

    def _outcome(self, sms: OutgoingSms) -> Outcome:
        try:
            return self.send(sms)
        except SmsError as error:
            return error
        except OSError as error:
            return TransientSmsError(f"network error: {error}")
