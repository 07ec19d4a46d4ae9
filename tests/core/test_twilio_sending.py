"""Sending through the real Twilio SDK to the Twilio-compatible server, and what errors do."""

import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from saleor_sms_plugin import dispatch, handlers
from saleor_sms_plugin.constants import Consent, SkipReason, Status
from saleor_sms_plugin.models import Message, Recipient

pytestmark = pytest.mark.django_db(transaction=True)


def place(order_factory, **kwargs):
    [message] = handlers.on_order_placed(order_factory(**kwargs))
    return message


def test_confirmation_reaches_twilio_with_sender_and_status_callback(
    configure_channel, order_factory, twilio
):
    configure_channel(public_base_url="https://api.example.com")
    message = place(order_factory)

    dispatch.send_message(message.id)

    [accepted] = twilio.messages
    assert accepted.form["To"] == "+12015550123"
    assert accepted.form["From"] == "+14155550100"
    assert message.order_number in accepted.form["Body"]
    assert accepted.form["StatusCallback"] == (
        "https://api.example.com/plugins/saleor_sms_plugin.sms/callbacks/default-channel/"
        f"twilio/status?message={message.id}"
    )
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.provider_id == accepted.sid


def test_messaging_service_sid_is_sent_as_messaging_service(
    configure_channel, order_factory, twilio
):
    configure_channel(sender="MG" + "1" * 32)
    dispatch.send_message(place(order_factory).id)

    [accepted] = twilio.messages
    assert accepted.form["MessagingServiceSid"] == "MG" + "1" * 32
    assert "From" not in accepted.form


@pytest.mark.parametrize("code", [429, 500, 503])
def test_provider_outage_is_retried_later_with_backoff_and_no_duplicate(
    channel, order_factory, twilio, code
):
    message = place(order_factory)
    twilio.fail_next(code)

    report = dispatch.send_message(message.id)

    assert report.retried == 1
    message.refresh_from_db()
    assert message.status == Status.SCHEDULED
    assert message.attempts == 1
    assert message.due_at > timezone.now() + timedelta(seconds=20)
    assert twilio.messages == []
    dispatch.dispatch_due(now=message.due_at + timedelta(seconds=1))
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert len(twilio.messages) == 1


def test_backoff_grows_exponentially_then_fails_with_the_reason(
    channel, order_factory, twilio, settings
):
    settings.SALEOR_SMS_MAX_ATTEMPTS = 3
    message = place(order_factory)
    twilio.fail_next(500, count=3)
    delays = []
    now = timezone.now()
    for _ in range(3):
        dispatch.dispatch_due(now=now)
        message.refresh_from_db()
        delays.append(message.due_at - now)
        now = message.due_at

    assert delays[1] == 2 * delays[0]
    assert message.status == Status.FAILED
    assert message.reason == "retries_exhausted"
    assert message.attempts == 3
    assert twilio.messages == []


def test_invalid_number_is_flagged_and_never_retried(channel, order_factory, twilio):
    message = place(order_factory)
    twilio.fail_next(21211)

    dispatch.send_message(message.id)

    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert message.reason == SkipReason.INVALID_PHONE
    assert message.error_code == 21211
    assert Recipient.objects.get().unreachable_code == 21211
    later = place(order_factory)
    dispatch.send_message(later.id)
    later.refresh_from_db()
    assert later.status == Status.SKIPPED
    assert twilio.requests_count == 1


def test_carrier_opt_out_marks_the_recipient_opted_out(channel, order_factory, twilio):
    message = place(order_factory)
    twilio.fail_next(21610)

    dispatch.send_message(message.id)

    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert message.reason == SkipReason.OPTED_OUT
    recipient = Recipient.objects.get()
    assert recipient.consent == Consent.OPTED_OUT
    assert recipient.consent_source == "carrier"


def test_wrong_credentials_fail_with_the_provider_error(configure_channel, order_factory, twilio):
    configure_channel(auth_token="wrong-token")
    message = place(order_factory)

    dispatch.send_message(message.id)

    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert message.error_code == 20003
    assert message.reason == "provider_error"


def test_text_left_sending_by_a_dead_worker_is_found_at_the_provider_not_resent(
    channel, order_factory, twilio
):
    message = place(order_factory)
    dispatch.send_message(message.id)
    sid = Message.objects.get().provider_id
    # A worker that died after Twilio accepted the text but before recording it:
    Message.objects.filter(pk=message.pk).update(
        status=Status.SENDING, provider_id=None, claimed_at=timezone.now() - timedelta(hours=1)
    )

    assert dispatch.recover_stale() == 1

    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.provider_id == sid
    assert len(twilio.messages) == 1


def test_text_left_sending_that_never_reached_the_provider_is_sent_again(
    channel, order_factory, twilio
):
    message = place(order_factory)
    dispatch.claim_ids([message.id], timezone.now())  # claimed, then the worker died
    Message.objects.filter(pk=message.pk).update(
        body="Your order is confirmed", claimed_at=timezone.now() - timedelta(hours=1)
    )

    assert dispatch.recover_stale() == 1
    message.refresh_from_db()
    assert message.status == Status.SCHEDULED
    dispatch.dispatch_due()
    assert len(twilio.messages) == 1


def test_an_unreachable_provider_is_retried_later_and_nothing_is_lost(
    channel, order_factory, twilio, settings
):
    message = place(order_factory)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        settings.SALEOR_SMS_TWILIO_API_URL = f"http://127.0.0.1:{closed.getsockname()[1]}"

        report = dispatch.send_message(message.id)

    assert report.retried == 1
    message.refresh_from_db()
    assert (message.status, message.reason) == (Status.SCHEDULED, "retrying")
    assert "could not reach Twilio" in message.error_message
    settings.SALEOR_SMS_TWILIO_API_URL = twilio.base_url
    dispatch.dispatch_due(now=message.due_at + timedelta(seconds=1))
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert len(twilio.messages) == 1


def test_a_lost_answer_is_checked_with_the_provider_before_anything_is_sent_again(
    channel, order_factory, twilio
):
    message = place(order_factory)
    twilio.lose_next_answers(1)  # Twilio accepts the text; the answer never arrives

    report = dispatch.send_message(message.id)

    assert report.unconfirmed == 1
    message.refresh_from_db()
    assert (message.status, message.reason) == (Status.SENDING, "unconfirmed")
    [accepted] = twilio.messages
    assert dispatch.dispatch_due(now=timezone.now() + timedelta(hours=1)).claimed == 0
    assert dispatch.recover_stale(now=timezone.now() + timedelta(hours=1)) == 1
    message.refresh_from_db()
    assert (message.status, message.provider_id) == (Status.SENT, accepted.sid)
    assert len(twilio.messages) == 1


def test_a_lost_answer_to_a_refused_text_sends_it_once_after_the_check(
    channel, order_factory, twilio
):
    message = place(order_factory)
    twilio.fail_next(500)
    twilio.lose_next_answers(1)

    dispatch.send_message(message.id)
    later = timezone.now() + timedelta(hours=1)
    dispatch.recover_stale(now=later)

    message.refresh_from_db()
    assert message.status == Status.SCHEDULED
    assert twilio.messages == []
    dispatch.dispatch_due(now=later)
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert len(twilio.messages) == 1


def test_batch_loops_side_by_side_send_every_due_text_exactly_once(channel, order_factory, twilio):
    messages = [place(order_factory, phone=f"+1201555{index:04d}") for index in range(40)]

    claimed = dispatch.dispatch_all(batch_size=3, loops=3)

    assert claimed == 40
    assert set(Message.objects.values_list("status", flat=True)) == {Status.SENT}
    sent_to = sorted(accepted.form["To"] for accepted in twilio.messages)
    assert sent_to == sorted(message.recipient.phone for message in messages)


def test_batch_loops_stop_when_their_time_is_spent(channel, order_factory, twilio):
    for index in range(10):
        place(order_factory, phone=f"+1201555{index:04d}")

    assert dispatch.dispatch_all(batch_size=2, loops=2, time_budget=0) == 0
    assert twilio.messages == []
    assert dispatch.dispatch_all(batch_size=2, loops=2) == 10
