"""Keeps texts in memory, for tests of code that merely sends (like Django's locmem mail)."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime

from .base import OutgoingSms, SendResult, SmsBackend

outbox: list[OutgoingSms] = []
_counter = itertools.count(1)
_lock = threading.Lock()


class LocmemBackend(SmsBackend):
    concurrency = 4

    def send(self, sms: OutgoingSms) -> SendResult:
        with _lock:
            outbox.append(sms)
            return SendResult(provider_id=f"locmem-{next(_counter)}")

    def find_sent(self, to: str, body: str, since: datetime) -> str | None:
        return None
