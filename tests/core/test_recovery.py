"""Who may send a text, and how texts left `sending` are settled.

A batch holds the rows it claimed by a claim token and a lease it renews while it works; a text
goes out only while its batch holds the row. Recovery, a periodic task of its own, takes over
rows nobody renewed for a lease and asks the provider about them concurrently.
"""

from __future__ import annotations

import socket
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from saleor_sms_plugin import dispatch, handlers, periodic, tasks
from saleor_sms_plugin.constants import Status
from saleor_sms_plugin.leases import Lease
from saleor_sms_plugin.models import Message
from saleor_sms_plugin.settings import get_setting

pytestmark = pytest.mark.django_db(transaction=True)


def place(order_factory, count=1, *, start=0):
    return [
        handlers.on_order_placed(order_factory(phone=f"+1201555{n:04d}"))[0]
        for n in range(start, start + count)
    ]


def left_sending_after_the_provider_accepted(messages):
    """What a worker that died between Twilio's answer and recording it leaves behind."""
    ids = [message.id for message in messages]
    for message in messages:
        dispatch.send_message(message.id)
    Message.objects.filter(pk__in=ids).update(
        status=Status.SENDING, provider_id=None, sent_at=None, claimed_at=an_hour_ago()
    )
    return ids


def left_sending_before_anything_went_out(messages):
    """What a worker that died after storing the texts, before sending them, leaves behind."""
    ids = [message.id for message in messages]
    dispatch.claim_ids(ids, timezone.now())
    Message.objects.filter(pk__in=ids).update(body="Your order is confirmed")
    Message.objects.filter(pk__in=ids).update(claimed_at=an_hour_ago())
    return ids


def an_hour_ago():
    return timezone.now() - timedelta(hours=1)


def after_the_lease():
    return timezone.now() + get_setting("SALEOR_SMS_SENDING_LEASE") + timedelta(seconds=1)


# Holding a row -------------------------------------------------------------------------------


def test_a_batch_that_lost_its_row_neither_sends_nor_records_it(channel, order_factory, twilio):
    [message] = place(order_factory)
    stalled = dispatch.claim_ids([message.id], timezone.now())  # then the worker stalls
    later = after_the_lease()
    assert dispatch.recover_stale(now=later) == 1  # nothing went out: scheduled again
    dispatch.send_message(message.id, now=later)  # another worker sends it
    [accepted] = twilio.messages

    report = dispatch.process(stalled, timezone.now())  # the first worker wakes up

    assert (report.claimed, report.sent) == (1, 0)
    assert len(twilio.messages) == 1
    message.refresh_from_db()
    assert (message.status, message.provider_id) == (Status.SENT, accepted.sid)


def test_recovery_leaves_alone_the_rows_of_a_batch_that_renews_its_hold(channel, order_factory):
    [message] = place(order_factory)
    batch = dispatch.claim_ids([message.id], timezone.now())
    # The batch has been at it for an hour, renewing its hold.
    Message.objects.filter(pk=message.id).update(claimed_at=an_hour_ago())
    batch.renew()

    assert dispatch.recover_stale() == 0
    assert batch.admits(message.id)
    # Once it stops renewing, the row is taken over a lease later.
    assert dispatch.recover_stale(now=after_the_lease()) == 1
    batch.renew()
    assert not batch.holds(message.id)
    assert not batch.admits(message.id)


def test_a_hold_not_confirmed_for_half_a_lease_lets_no_request_start():
    lease = timedelta(seconds=60)
    fresh = Lease({1: 1}, lease, confirmed=time.monotonic() - 29)
    late = Lease({1: 1}, lease, confirmed=time.monotonic() - 31)

    assert fresh.admits(1)
    assert not fresh.admits(2)  # not one of the batch's rows
    assert not late.admits(1)


def test_a_batch_longer_than_a_third_of_the_lease_renews_its_hold_while_it_sends(
    channel, order_factory, twilio, settings
):
    settings.SALEOR_SMS_SENDING_LEASE = 4  # renewed every 1.33 s
    settings.SALEOR_SMS_TWILIO_TIMEOUT = 1
    settings.SALEOR_SMS_CONCURRENCY = 1
    twilio.latency = 0.15
    messages = place(order_factory, 12)  # one after another: 1.8 s at the least

    report = dispatch.dispatch_due()

    assert (report.claimed, report.sent) == (12, 12)
    rows = Message.objects.filter(pk__in=[message.id for message in messages])
    assert all(row.renewed_at is not None for row in rows)
    assert {row.status for row in rows} == {Status.SENT}
    assert len(twilio.messages) == 12


# Recovery ------------------------------------------------------------------------------------


def test_stale_texts_are_looked_up_concurrently_at_most_concurrency_at_a_time(
    channel, order_factory, twilio, settings
):
    accepted_ids = left_sending_after_the_provider_accepted(place(order_factory, 6))
    never_sent_ids = left_sending_before_anything_went_out(place(order_factory, 6, start=6))
    accepted = {message.to: message.sid for message in twilio.messages}
    requests_before = twilio.requests_count  # the six texts, sent one at a time
    settings.SALEOR_SMS_CONCURRENCY = 4
    twilio.latency = 0.2

    assert dispatch.recover_stale() == 12

    assert twilio.requests_count == requests_before + 12  # one question each, no text sent
    assert len(twilio.messages) == 6
    assert twilio.peak_requests_in_flight == 4
    for row in Message.objects.filter(pk__in=accepted_ids).select_related("recipient"):
        assert (row.status, row.provider_id) == (Status.SENT, accepted[row.recipient.phone])
    rescheduled = Message.objects.filter(pk__in=never_sent_ids)
    assert {(row.status, row.reason, row.attempts) for row in rescheduled} == {
        (Status.SCHEDULED, "recovered", 0)
    }


def test_recovery_works_through_every_stale_text_batch_after_batch(channel, order_factory, twilio):
    ids = left_sending_before_anything_went_out(place(order_factory, 12))

    assert dispatch.recover_all(batch_size=5) == 12

    assert set(Message.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        Status.SCHEDULED
    }


def test_a_text_the_provider_cannot_be_asked_about_is_asked_about_on_the_next_run(
    channel, order_factory, twilio, settings
):
    [message_id] = left_sending_after_the_provider_accepted(place(order_factory))
    [accepted] = twilio.messages
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        settings.SALEOR_SMS_TWILIO_API_URL = f"http://127.0.0.1:{closed.getsockname()[1]}"

        assert dispatch.recover_all() == 0

    assert Message.objects.get(pk=message_id).status == Status.SENDING
    settings.SALEOR_SMS_TWILIO_API_URL = twilio.base_url
    assert dispatch.recover_stale() == 1  # at once, not a lease later
    row = Message.objects.get(pk=message_id)
    assert (row.status, row.provider_id) == (Status.SENT, accepted.sid)
    assert len(twilio.messages) == 1


# The periodic tasks --------------------------------------------------------------------------


def test_the_dispatch_task_sends_new_texts_without_asking_about_stale_ones(
    channel, order_factory, twilio
):
    [stale_id] = left_sending_before_anything_went_out(place(order_factory))
    [new] = place(order_factory, start=1)
    twilio.reset()

    tasks.dispatch_due_messages_task()

    assert [message.to for message in twilio.messages] == [new.recipient.phone]
    assert twilio.requests_count == 1
    assert Message.objects.get(pk=stale_id).status == Status.SENDING


def test_the_recovery_task_settles_stale_texts(channel, order_factory, twilio):
    [accepted_id] = left_sending_after_the_provider_accepted(place(order_factory))
    [never_sent_id] = left_sending_before_anything_went_out(place(order_factory, start=1))

    assert tasks.recover_stale_messages_task() == 2

    assert Message.objects.get(pk=accepted_id).status == Status.SENT
    assert Message.objects.get(pk=never_sent_id).status == Status.SCHEDULED
    assert len(twilio.messages) == 1


def test_recovery_runs_as_its_own_periodic_task():
    from datetime import timedelta

    from saleor_sms_plugin.standalone_celery import app

    entry = app.conf.beat_schedule[periodic.RECOVERY_TASK_NAME]
    assert entry["schedule"] == timedelta(seconds=periodic.RECOVERY_EVERY_SECONDS)
    assert periodic.RECOVERY_EVERY_SECONDS == 30
    assert entry["task"] == tasks.recover_stale_messages_task.name
