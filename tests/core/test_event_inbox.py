"""The event inbox: recorded in the caller's transaction, handled once by a worker, never lost."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from saleor_sms_plugin import event_inbox, handlers
from saleor_sms_plugin.constants import Flow
from saleor_sms_plugin.event_inbox import InvalidEvent, Outcome, RecordedEvent
from saleor_sms_plugin.models import InboxEvent, Message, Recipient

KIND = "test.something_happened"


class Handler:
    """A handler that writes a row (so its writes can be seen committed or rolled back), keeps
    what it was given and fails while told to."""

    def __init__(self) -> None:
        self.received: list[RecordedEvent] = []
        self.failures_left = 0
        self.pause = 0.0

    def __call__(self, event: RecordedEvent) -> None:
        self.received.append(event)
        Recipient.objects.create(phone=event.payload["phone"], customer_ref=event.key)
        time.sleep(self.pause)
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("the store's database is being upgraded")


@pytest.fixture
def handler() -> Iterator[Handler]:
    handler = Handler()
    event_inbox.register_handler(KIND, handler)
    yield handler
    event_inbox.unregister_handler(KIND)


def record(key: str = "order-1", phone: str = "+48600100200", **payload: Any) -> bool:
    return event_inbox.record_event(
        KIND, key, channel_slug="default-channel", payload={"phone": phone, **payload}
    )


@pytest.mark.django_db
def test_a_recorded_event_waits_for_a_worker_with_its_kind_key_channel_and_payload(handler):
    assert record("order-1", order_number="1001") is True

    event = InboxEvent.objects.get()
    assert (event.kind, event.key, event.channel_slug) == (KIND, "order-1", "default-channel")
    assert event.payload == {"phone": "+48600100200", "order_number": "1001"}
    assert event.processed_at is None
    assert handler.received == []  # nothing runs in the caller


@pytest.mark.django_db
def test_a_worker_hands_the_handler_the_event_as_recorded(handler):
    record("order-1", order_number="1001")

    assert event_inbox.process_due().processed == 1

    [received] = handler.received
    event = InboxEvent.objects.get()
    assert received == RecordedEvent(
        id=event.pk,
        kind=KIND,
        key="order-1",
        channel_slug="default-channel",
        payload={"phone": "+48600100200", "order_number": "1001"},
        recorded_at=event.created_at,
        attempt=1,
    )
    assert event.processed_at is not None
    assert event.attempts == 1


@pytest.mark.django_db
def test_a_repeated_report_records_nothing_new_and_is_handled_once(handler):
    assert record("order-1") is True
    assert record("order-1", phone="+48600100201") is False

    event_inbox.process_due()
    event_inbox.process_due()
    assert record("order-1") is False  # handled already: still nothing new

    assert InboxEvent.objects.count() == 1
    assert [event.payload["phone"] for event in handler.received] == ["+48600100200"]


@pytest.mark.django_db
def test_the_same_key_of_another_kind_is_another_event(handler):
    record("order-1")
    event_inbox.record_event("test.other", "order-1", channel_slug="", payload={})

    assert InboxEvent.objects.count() == 2


@pytest.mark.django_db
def test_an_event_recorded_in_a_transaction_that_rolls_back_was_never_recorded(handler):
    def place_an_order_that_fails_after_the_hook() -> None:
        with transaction.atomic():
            record("order-1")
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        place_an_order_that_fails_after_the_hook()

    assert not InboxEvent.objects.exists()


@pytest.mark.django_db
def test_the_handlers_writes_and_the_processed_mark_are_committed_together(handler):
    record("order-1")
    [event] = InboxEvent.objects.all()

    assert event_inbox.process_event(event.pk) == Outcome.PROCESSED
    assert event_inbox.process_event(event.pk) == Outcome.NOT_DUE

    assert Recipient.objects.filter(customer_ref="order-1").count() == 1
    assert len(handler.received) == 1


@pytest.mark.django_db
def test_a_failing_handler_leaves_no_writes_and_is_tried_again_after_a_backoff(handler, caplog):
    handler.failures_left = 1
    record("order-1")
    now = timezone.now()

    report = event_inbox.process_due(now=now)

    assert report.counts == {Outcome.FAILED: 1}
    event = InboxEvent.objects.get()
    assert event.processed_at is None
    assert event.attempts == 1
    assert event.last_error == "RuntimeError: the store's database is being upgraded"
    assert event.next_attempt_at == now + timedelta(seconds=30)
    assert not Recipient.objects.exists()
    assert "Handling event" in caplog.text

    assert event_inbox.process_due(now=now + timedelta(seconds=29)).tried == 0
    assert event_inbox.process_due(now=now + timedelta(seconds=31)).processed == 1

    event.refresh_from_db()
    assert (event.attempts, event.last_error) == (2, "")
    assert event.processed_at is not None
    assert [received.attempt for received in handler.received] == [1, 2]
    assert Recipient.objects.filter(customer_ref="order-1").count() == 1


def test_the_backoff_doubles_from_30_seconds_to_at_most_an_hour():
    delays = [event_inbox.retry_delay(failures) for failures in (1, 2, 3, 7, 8, 1000)]

    assert delays == [
        timedelta(seconds=30),
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=32),
        timedelta(hours=1),
        timedelta(hours=1),
    ]


@pytest.mark.django_db
def test_an_event_of_a_kind_nothing_handles_is_kept_reported_and_handled_once_something_does(
    caplog,
):
    event_inbox.record_event(
        "test.not_yet_handled", "1", channel_slug="", payload={"phone": "+48600100200"}
    )
    now = timezone.now()

    with caplog.at_level(logging.ERROR, logger="saleor_sms_plugin.event_inbox"):
        assert event_inbox.process_due(now=now).counts == {Outcome.UNHANDLED: 1}

    event = InboxEvent.objects.get()
    assert event.processed_at is None
    assert event.last_error == "no handler is registered for 'test.not_yet_handled'"
    assert "has no handler in this process" in caplog.text

    late = Handler()
    event_inbox.register_handler("test.not_yet_handled", late)
    try:
        assert event_inbox.process_due(now=now + timedelta(seconds=31)).processed == 1
    finally:
        event_inbox.unregister_handler("test.not_yet_handled")
    assert [received.attempt for received in late.received] == [2]


@pytest.mark.django_db(transaction=True)
def test_two_workers_taking_the_same_event_at_once_run_its_handler_once(handler, refusing_broker):
    handler.pause = 0.5  # the first worker still holds the event when the second asks
    record("order-1")
    event_id = InboxEvent.objects.get().pk
    start = threading.Barrier(3)
    outcomes: list[Any] = []

    def task() -> None:
        start.wait()
        try:
            outcomes.append(event_inbox.process_event(event_id))
        finally:
            connection.close()

    def sweep() -> None:
        start.wait()
        try:
            outcomes.append(event_inbox.process_due().counts)
        finally:
            connection.close()

    threads = [threading.Thread(target=task), threading.Thread(target=task)]
    threads.append(threading.Thread(target=sweep))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(handler.received) == 1
    assert outcomes.count(Outcome.PROCESSED) + outcomes.count({Outcome.PROCESSED: 1}) == 1
    assert Recipient.objects.filter(customer_ref="order-1").count() == 1


@pytest.mark.parametrize(
    ("kind", "key", "payload", "error"),
    [
        ("", "1", {}, "kind is a text of 1 to 64 characters"),
        ("x" * 65, "1", {}, "kind is a text of 1 to 64 characters"),
        (KIND, "", {}, "key is a text of 1 to 255 characters"),
        (KIND, "k" * 256, {}, "key is a text of 1 to 255 characters"),
        (KIND, "1", ["order-1"], "is a dict"),
        (KIND, "1", {"total": Decimal("9.90")}, "is not JSON"),
        (KIND, "1", {"total": float("nan")}, "is not JSON"),
        (KIND, "1", {"note": "a\x00b"}, "contains a NUL character"),
        (KIND, "1", {"order": "x" * 70_000}, "record ids and load the rest in the handler"),
    ],
)
@pytest.mark.django_db
def test_an_event_that_cannot_be_kept_is_refused_with_the_reason_and_nothing_is_recorded(
    kind, key, payload, error
):
    with pytest.raises(InvalidEvent, match=error):
        event_inbox.record_event(kind, key, channel_slug="default-channel", payload=payload)

    assert not InboxEvent.objects.exists()


@pytest.mark.django_db
def test_a_payload_with_the_text_of_an_escape_is_kept_as_it_is(handler):
    record("order-1", note="\\u0000 is how JSON writes a NUL")

    assert InboxEvent.objects.get().payload["note"] == "\\u0000 is how JSON writes a NUL"


def test_a_second_handler_for_a_handled_kind_is_refused(handler):
    event_inbox.register_handler(KIND, handler)  # the same one again: nothing changes

    with pytest.raises(ValueError, match="already handled"):
        event_inbox.register_handler(KIND, Handler())


@pytest.mark.django_db
def test_handled_events_are_purged_after_a_week_and_waiting_ones_never(handler):
    handler.failures_left = 1
    record("order-1", phone="+48600100201")  # fails: waits for its retry
    record("order-2", phone="+48600100202")
    now = timezone.now()
    event_inbox.process_due(now=now)

    assert event_inbox.purge_processed(now=now + timedelta(days=6)) == 0
    assert event_inbox.purge_processed(now=now + timedelta(days=8)) == 1

    assert list(InboxEvent.objects.values_list("key", "processed_at")) == [("order-1", None)]


@pytest.fixture
def channel_with_offers(configure_channel: Callable[..., Any]) -> Any:
    return configure_channel(**{"flow_post_purchase_offer_enabled": True})


@pytest.mark.django_db
def test_an_order_recorded_in_the_inbox_gets_the_texts_a_direct_call_schedules(
    channel_with_offers, order_factory
):
    recorded = order_factory(country="PL", metadata={"sms_marketing_consent": "true"})
    direct = order_factory(country="DE", metadata={"sms_marketing_consent": "true"})

    assert handlers.record_order_placed(recorded) is True
    assert not Message.objects.filter(order_id=recorded.id).exists()
    handlers.on_order_placed(direct)
    assert event_inbox.process_due().processed == 1

    def texts(order_id: str) -> list[tuple[str, int]]:
        return sorted(Message.objects.filter(order_id=order_id).values_list("flow", "step"))

    assert texts(recorded.id) == texts(direct.id)
    assert (Flow.ORDER_CONFIRMATION, 0) in texts(recorded.id)
    confirmation = Message.objects.get(order_id=recorded.id, flow=Flow.ORDER_CONFIRMATION)
    assert confirmation.context["order"] == recorded.to_json()
    assert handlers.record_order_placed(recorded) is False
