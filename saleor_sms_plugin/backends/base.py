"""The interface every sending backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..exceptions import SmsError, TransientSmsError

if TYPE_CHECKING:
    from ..conf import ChannelSettings


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
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(batch))) as pool:
            return list(pool.map(self._outcome, batch))

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
