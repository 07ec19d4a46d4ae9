"""A batch's hold on the message rows it claimed: renewed while it works, checked before each
request to the provider.

Claiming a row (dispatch) or taking over a stale one (recovery) raises its `claim_token`. The
claimant keeps the value, and each of its later writes requires it: renewing the hold, storing
the rendered text, recording the outcome. A claimant that lost the row to another worker
therefore changes nothing.

Time bounds the rest. While a batch works, it renews its hold on all its rows in one statement
every third of `SALEOR_SMS_SENDING_LEASE` (`renewed_at`), and recovery takes over only rows
nobody renewed for a whole lease. A request for a row may start only while the last renewal is
less than half a lease old, and Twilio has the request within two timeouts (connecting, then the
answer). So by the time recovery may take a row over, every text its last holder sent has
reached the provider, and asking the provider whether it went out gets the true answer. Hence
the rule the system check `saleor_sms_plugin.E001` enforces: a lease of at least four timeouts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Mapping
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from .constants import Status
from .models import Message

TABLE = Message._meta.db_table
RENEWALS_PER_LEASE = 3
# A request may start only this far into the lease: a renewal may be late by a sixth of the
# lease (a slow statement, a busy interpreter) before sending pauses.
STARTS_WITHIN_LEASE = 0.5
# The waits one request to the provider can take, a timeout each: connecting, then the answer.
REQUEST_WAITS = 2
# The shortest wait between two checks of the lease while answers are awaited; seconds.
MIN_WAIT = 0.01


def shortest_lease(request_timeout: float) -> timedelta:
    """The shortest lease under which a text sent by a batch that then died has reached the
    provider before recovery asks about it (see the module's docstring)."""
    return timedelta(seconds=REQUEST_WAITS * request_timeout / (1 - STARTS_WITHIN_LEASE))


class Lease:
    """The rows one batch holds, each with the claim token it holds it by.

    `admits` is asked in the sending threads, right before each request; `keep` in the thread
    that claimed the rows (it uses that thread's database connection) while it waits for them.
    """

    def __init__(self, tokens: Mapping[int, int], duration: timedelta, confirmed: float) -> None:
        """`confirmed` is the monotonic time taken before the statement that claimed the rows."""
        self.tokens: dict[int, int] = dict(tokens)
        seconds = duration.total_seconds()
        self.renew_every = seconds / RENEWALS_PER_LEASE
        self.starts_within = seconds * STARTS_WITHIN_LEASE
        self._held = frozenset(self.tokens)
        self._confirmed = confirmed
        self._lock = threading.Lock()

    @property
    def ids(self) -> list[int]:
        return list(self.tokens)

    def __len__(self) -> int:
        return len(self.tokens)

    def holds(self, message_id: int) -> bool:
        with self._lock:
            return message_id in self._held

    def admits(self, message_id: int | None) -> bool:
        """May a request for this row start now: is it held, by a hold confirmed recently?"""
        with self._lock:
            fresh = time.monotonic() - self._confirmed < self.starts_within
            return fresh and message_id in self._held

    def keep(self) -> float:
        """Renew the hold when a renewal is due; returns the seconds until the next one is."""
        age = time.monotonic() - self._confirmed
        if age >= self.renew_every:
            self.renew()
            age = time.monotonic() - self._confirmed
        return max(self.renew_every - age, MIN_WAIT)

    def renew(self) -> None:
        """Extend the hold on every row still held, in one statement; rows another worker
        took over are dropped from it."""
        confirmed = time.monotonic()  # before the statement: the hold is at least this fresh
        with self._lock:
            held = self._held
        kept = _renew({message_id: self.tokens[message_id] for message_id in held})
        with self._lock:
            self._held = frozenset(kept)
            self._confirmed = confirmed

    def drop(self, ids: Collection[int]) -> None:
        """Stop holding these rows (their outcome is recorded, or someone else has them)."""
        with self._lock:
            self._held = self._held - frozenset(ids)

    def release(self, ids: Collection[int]) -> None:
        """Give these rows up at once: the next recovery may take them over without waiting
        for the lease to run out."""
        self.drop(ids)
        _execute_fenced(
            "renewed_at = NULL", {message_id: self.tokens[message_id] for message_id in ids}
        )


def _renew(tokens: Mapping[int, int]) -> set[int]:
    return _execute_fenced("renewed_at = %s", tokens, [timezone.now()])


def _execute_fenced(
    assignment: str, tokens: Mapping[int, int], params: list[object] | None = None
) -> set[int]:
    """Apply `assignment` to the rows still `sending` under these claim tokens; returns the
    ids of the rows changed."""
    if not tokens:
        return set()
    sql = (
        f"UPDATE {TABLE} AS m SET {assignment} "  # noqa: S608 (table and column names)
        "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, claim_token) "
        "WHERE m.id = v.id AND m.claim_token = v.claim_token AND m.status = %s RETURNING m.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [*(params or []), list(tokens), list(tokens.values()), Status.SENDING.value]
        )
        return {row[0] for row in cursor.fetchall()}
