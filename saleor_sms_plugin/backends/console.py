"""Prints texts instead of sending them: the default while a channel has no credentials."""

from __future__ import annotations

import itertools
import sys
import threading
from typing import TextIO

from .base import OutgoingSms, SendResult, SmsBackend

_counter = itertools.count(1)
_lock = threading.Lock()


class ConsoleBackend(SmsBackend):
    stream: TextIO | None = None

    def send(self, sms: OutgoingSms) -> SendResult:
        stream = self.stream or sys.stdout
        with _lock:
            provider_id = f"console-{next(_counter)}"
            stream.write(f"[sms {self.channel.channel_slug}] to {sms.to}: {sms.body}\n")
            stream.flush()
        return SendResult(provider_id=provider_id, provider_status="sent")
