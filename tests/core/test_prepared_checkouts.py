"""Checkouts prepared once an offer's text is sent: the click only redirects to them, and
falls back to making the checkout itself whenever none is ready. In-memory checkout gateway."""

import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.utils import timezone

from saleor_sms_plugin import checkouts, conf, links, tasks
from saleor_sms_plugin.models import CheckoutPreparation, LinkClick, Message, OfferLink
from saleor_sms_plugin.prepared_checkouts import MAX_ATTEMPTS, prepare_checkouts, retry_delay

from ..conftest import MUG_VARIANT
from .test_links_clicks import click, link_path

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("offers_channel")]

PLACED = datetime(2030, 1, 15, 13, 0, tzinfo=UTC)


@pytest.fixture
def send_offer(offer_order):
    """Sends the offer `step` of an order in Poland with consent: (message, link path)."""

    def send(step):
        message = offer_order(step)
        return message, link_path(message.body)

    return send


def checkout_of(location):
    [checkout_id] = parse_qs(urlsplit(location).query)["checkout"]
    [checkout] = [c for c in checkouts.store.checkouts.values() if c.id == checkout_id]
    return checkout


def test_the_checkout_of_a_sent_offer_is_prepared_with_the_orders_details(
    send_offer, checkout_store
):
    message, _ = send_offer(3)  # a product offer

    report = prepare_checkouts()

    assert (report.claimed, report.prepared) == (1, 1)
    [checkout] = checkout_store.checkouts.values()
    link = OfferLink.objects.get(message=message)
    assert link.prepare_state == CheckoutPreparation.PREPARED
    assert (link.checkout_token, link.checkout_lines) == (checkout.token, [MUG_VARIANT])
    assert checkout.email == message.context["order"]["email"]
    assert checkout.language == "pl"
    assert (checkout.voucher_code, checkout.total) == ("FIVEOFF", 7)
    assert checkout.metadata[links.METADATA_LINK] == link.key
    assert prepare_checkouts().claimed == 0


def test_a_text_not_sent_yet_gets_no_checkout(send_offer, checkout_store):
    Message.objects.filter(step=3).update(status="sending")

    assert prepare_checkouts().claimed == 0
    assert checkout_store.checkouts == {}


def test_a_click_on_a_prepared_link_creates_nothing_and_redirects_to_it(
    client, send_offer, checkout_store
):
    message, path = send_offer(1)
    prepare_checkouts()
    [prepared] = checkout_store.checkouts.values()

    response = click(client, path)

    assert response.status_code == 302
    assert checkout_of(response["Location"]) is prepared
    assert len(checkout_store.checkouts) == 1
    message.refresh_from_db()
    assert message.clicked_at is not None
    assert LinkClick.objects.get().device == links.MOBILE


def test_a_click_before_preparation_makes_the_checkout_and_the_preparer_then_does_nothing(
    client, send_offer, checkout_store
):
    message, path = send_offer(1)

    location = click(client, path)["Location"]
    report = prepare_checkouts()

    assert report.claimed == 0
    assert [checkout_of(location)] == list(checkout_store.checkouts.values())
    link = OfferLink.objects.get(message=message)
    assert link.prepare_state == CheckoutPreparation.PREPARED


def test_a_prepared_checkout_that_is_gone_is_made_again_on_click(
    client, send_offer, checkout_store
):
    _, path = send_offer(3)
    prepare_checkouts()
    [gone] = checkout_store.checkouts
    del checkout_store.checkouts[gone]  # Saleor deleted it (delete_expired_checkouts)

    response = click(client, path)

    assert response.status_code == 302
    [remade] = checkout_store.checkouts.values()
    assert remade.token != gone
    assert checkout_of(response["Location"]) is remade
    assert remade.lines == [MUG_VARIANT]


def test_choice_offers_are_not_prepared(send_offer, checkout_store):
    message, _ = send_offer(2)

    assert prepare_checkouts().claimed == 0
    assert checkout_store.checkouts == {}
    assert OfferLink.objects.get(message=message).prepare_state == CheckoutPreparation.NONE


def test_an_offer_changed_to_a_choice_after_the_text_is_skipped(
    send_offer, checkout_store, offers_channel
):
    message, _ = send_offer(1)
    offers_channel(**{conf.OFFERS: "[]"})

    report = prepare_checkouts()

    assert (report.claimed, report.skipped) == (1, 1)
    assert checkout_store.checkouts == {}
    assert OfferLink.objects.get(message=message).prepare_state == CheckoutPreparation.SKIPPED


def test_an_expired_link_is_not_prepared(send_offer, checkout_store):
    message, _ = send_offer(1)
    OfferLink.objects.filter(message=message).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    assert prepare_checkouts().skipped == 1
    assert checkout_store.checkouts == {}


def test_with_the_switch_off_nothing_is_prepared(send_offer, checkout_store, offers_channel):
    offers_channel(**{conf.PREPARE_CHECKOUTS: False})
    first, _ = send_offer(1)
    third, _ = send_offer(3)

    tasks.prepare_checkouts_task()

    assert checkout_store.checkouts == {}
    states = set(OfferLink.objects.values_list("prepare_state", flat=True))
    assert states == {CheckoutPreparation.NONE}


def test_a_switch_turned_off_after_the_text_prepares_nothing(
    send_offer, checkout_store, offers_channel
):
    send_offer(1)
    offers_channel(**{conf.PREPARE_CHECKOUTS: False})

    assert prepare_checkouts().skipped == 1
    assert checkout_store.checkouts == {}


class BrokenGateway(checkouts.LocmemCheckoutGateway):
    """The store refuses every checkout, as a Saleor that is down would."""

    def create_checkout(self, *args, **kwargs):
        raise checkouts.CheckoutError("the store is down")


def test_a_failure_is_recorded_and_given_up_after_a_few_attempts(
    client, send_offer, checkout_store, settings, caplog
):
    message, path = send_offer(1)
    settings.SALEOR_SMS_CHECKOUT_GATEWAY = f"{__name__}.BrokenGateway"
    start = timezone.now()

    reports, waits = [], []
    for _ in range(MAX_ATTEMPTS + 1):
        now = start + sum(waits, timedelta())
        reports.append(prepare_checkouts(now=now))
        # Nothing is tried again before the wait is over, however often the task runs.
        reports.append(prepare_checkouts(now=now + timedelta(seconds=1)))
        waits.append(retry_delay(len(waits) + 1))

    assert [report.failed for report in reports] == [1, 0] * MAX_ATTEMPTS + [0, 0]
    assert [wait.total_seconds() for wait in waits[:MAX_ATTEMPTS]] == [30, 120, 480, 1920]
    link = OfferLink.objects.get(message=message)
    assert link.prepare_state == CheckoutPreparation.FAILED
    assert link.prepare_attempts == MAX_ATTEMPTS
    assert "the store is down" in link.prepare_error
    assert "Could not prepare the checkout" in caplog.text
    settings.SALEOR_SMS_CHECKOUT_GATEWAY = checkouts.LOCMEM_GATEWAY
    response = click(client, path)
    assert response.status_code == 302
    assert len(checkout_store.checkouts) == 1


def test_a_task_run_tries_a_failing_link_once(send_offer, checkout_store, settings):
    message, _ = send_offer(1)
    settings.SALEOR_SMS_CHECKOUT_GATEWAY = f"{__name__}.BrokenGateway"

    # A full batch makes the task claim again at once: the failed link is not among them.
    tasks.prepare_checkouts_task(batch_size=1)

    link = OfferLink.objects.get(message=message)
    assert link.prepare_attempts == 1
    assert link.prepare_state == CheckoutPreparation.PENDING
    assert link.prepare_after > timezone.now() + timedelta(seconds=25)


@pytest.mark.django_db(transaction=True)
def test_two_preparers_and_a_click_at_the_same_moment_make_one_checkout(send_offer, checkout_store):
    from django.test import Client

    _, path = send_offer(1)
    start = threading.Barrier(3)
    results = []

    def run(work):
        try:
            start.wait()
            results.append(work())
        finally:
            connection.close()

    workers = [
        threading.Thread(target=run, args=(lambda: prepare_checkouts(batch_size=1),)),
        threading.Thread(target=run, args=(lambda: prepare_checkouts(batch_size=1),)),
        threading.Thread(target=run, args=(lambda: click(Client(), path)["Location"],)),
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert len(checkout_store.checkouts) == 1
    [location] = [result for result in results if isinstance(result, str)]
    [checkout] = checkout_store.checkouts.values()
    assert checkout_of(location) is checkout
    assert sum(report.prepared for report in results if not isinstance(report, str)) <= 1


def test_a_second_click_after_preparation_still_reuses_the_checkout(
    client, send_offer, checkout_store
):
    _, path = send_offer(1)
    prepare_checkouts()

    first = click(client, path)["Location"]
    again = click(client, path)["Location"]

    assert first == again
    assert len(checkout_store.checkouts) == 1
