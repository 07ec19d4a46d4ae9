"""An order placed from a link's checkout is that text's conversion, with its revenue."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from saleor_sms_plugin import conf, dispatch, handlers, links, signals
from saleor_sms_plugin.checkouts import Discount
from saleor_sms_plugin.constants import Flow, SkipReason, Status
from saleor_sms_plugin.models import Conversion, Message
from saleor_sms_plugin.offers import DiscountType

from .test_links_clicks import IPHONE, link_path

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("offers_channel")]

PLACED = datetime(2030, 1, 15, 13, 0, tzinfo=UTC)
CONSENT = {"sms_marketing_consent": "true"}


@pytest.fixture
def clicked_offer(client, order_factory, checkout_store):
    """The first offer of an order, sent and clicked; returns (message, checkout)."""
    order = order_factory(country="PL", created_at=PLACED, metadata=CONSENT)
    handlers.on_order_placed(order)
    message = Message.objects.get(order_id=order.id, step=1)
    dispatch.send_message(message.pk, now=message.due_at + timedelta(seconds=1))
    body = Message.objects.get(pk=message.pk).body
    client.get(link_path(body), HTTP_USER_AGENT=IPHONE)
    [checkout] = checkout_store.checkouts.values()
    return message, checkout


def order_from(checkout, order_factory, **kwargs):
    """The order Saleor places from a checkout: the checkout's metadata copied onto it."""
    return order_factory(
        country="PL",
        created_at=PLACED + timedelta(hours=1),
        metadata={**checkout.metadata, **CONSENT},
        checkout_token=checkout.token,
        **kwargs,
    )


@pytest.fixture
def conversions():
    received = []

    def receiver(**kwargs):
        received.append(kwargs)

    signals.conversion.connect(receiver, weak=False, dispatch_uid="test-conversions")
    yield received
    signals.conversion.disconnect(dispatch_uid="test-conversions")


def test_an_order_from_the_links_checkout_converts_the_text_with_its_revenue(
    clicked_offer, order_factory, conversions
):
    message, checkout = clicked_offer
    order = order_from(checkout, order_factory, total="42.50")

    handlers.on_order_placed(order)

    message.refresh_from_db()
    assert message.converted_at is not None
    assert (message.revenue, message.revenue_currency) == (Decimal("42.50"), "USD")
    conversion = Conversion.objects.get()
    assert (conversion.order_id, conversion.message_id) == (order.id, message.pk)
    [sent] = conversions
    assert sent["message_id"] == message.pk
    assert sent["order_id"] == order.id
    assert (sent["revenue"], sent["currency"]) == (Decimal("42.50"), "USD")


def test_the_remaining_offers_of_that_flow_stop_as_converted(clicked_offer, order_factory):
    message, checkout = clicked_offer

    handlers.on_order_placed(order_from(checkout, order_factory))

    remaining = Message.objects.filter(order_id=message.order_id).exclude(pk=message.pk)
    assert {(m.step, m.status, m.reason) for m in remaining} == {
        (2, Status.CANCELLED, SkipReason.CONVERTED),
        (3, Status.CANCELLED, SkipReason.CONVERTED),
    }


def test_an_order_reported_twice_counts_once(clicked_offer, order_factory, conversions):
    message, checkout = clicked_offer
    order = order_from(checkout, order_factory, total="10.00")

    handlers.on_order_placed(order)
    handlers.on_order_placed(order)

    message.refresh_from_db()
    assert message.revenue == Decimal("10.00")
    assert len(conversions) == 1


def test_two_orders_through_one_text_add_up(clicked_offer, order_factory, conversions):
    message, checkout = clicked_offer

    handlers.on_order_placed(order_from(checkout, order_factory, total="10.00"))
    first_converted_at = Message.objects.get(pk=message.pk).converted_at
    handlers.on_order_placed(order_from(checkout, order_factory, total="5.25"))

    message.refresh_from_db()
    assert message.revenue == Decimal("15.25")
    assert message.converted_at == first_converted_at
    assert len(conversions) == 2


def test_an_order_whose_metadata_was_dropped_is_found_by_its_checkout(clicked_offer, order_factory):
    message, checkout = clicked_offer
    order = order_factory(country="PL", created_at=PLACED, checkout_token=checkout.token)

    assert links.record_conversion(order) is not None
    assert Message.objects.get(pk=message.pk).converted_at is not None


def test_an_order_not_placed_through_a_link_converts_nothing(clicked_offer, order_factory):
    message, _ = clicked_offer

    handlers.on_order_placed(order_factory(country="PL", created_at=PLACED + timedelta(hours=1)))

    assert not Conversion.objects.exists()
    assert Message.objects.get(pk=message.pk).converted_at is None


def test_a_link_key_of_another_channel_converts_nothing(clicked_offer, order_factory):
    _, checkout = clicked_offer
    order = order_factory(channel_slug="channel-pln", country="PL", metadata=checkout.metadata)

    assert links.record_conversion(order) is None


def test_a_purchase_through_a_win_back_text_stops_that_customers_win_back(
    client, offers_channel, order_factory, checkout_store
):
    offers_channel(
        **{
            conf.flow_switch(Flow.POST_PURCHASE_OFFER): False,
            conf.flow_switch(Flow.WIN_BACK): True,
            conf.OFFERS: '[{"id": "back", "flow": "win_back", "kind": "voucher", '
            '"discount_type": "percentage", "discount_value": 10, "voucher_code": "BACK10"}]',
        }
    )
    checkout_store.vouchers["BACK10"] = Discount(DiscountType.PERCENTAGE, Decimal(10))
    order = order_factory(country="PL", created_at=PLACED, metadata=CONSENT)
    handlers.on_order_placed(order)
    [first] = Message.objects.filter(flow=Flow.WIN_BACK)
    dispatch.send_message(first.pk, now=first.due_at + timedelta(hours=1))
    [following] = Message.objects.filter(flow=Flow.WIN_BACK, status=Status.SCHEDULED)
    client.get(link_path(Message.objects.get(pk=first.pk).body), HTTP_USER_AGENT=IPHONE)
    [checkout] = checkout_store.checkouts.values()
    assert checkout.voucher_code == "BACK10"

    links.record_conversion(order_from(checkout, order_factory))

    following.refresh_from_db()
    assert (following.status, following.reason) == (Status.CANCELLED, SkipReason.CONVERTED)


# No new offer series right after a purchase through an offer ----------------------------------


def offers_of(order):
    return list(
        Message.objects.filter(order_id=order.id, flow=Flow.POST_PURCHASE_OFFER).order_by("step")
    )


def test_an_order_placed_through_an_offer_starts_no_new_offers(clicked_offer, order_factory):
    _, checkout = clicked_offer
    order = order_from(checkout, order_factory)

    handlers.on_order_placed(order)
    handlers.on_order_placed(order)  # the hook, repeated

    assert offers_of(order) == []


def test_the_customers_next_order_within_the_pause_starts_no_offers_later_ones_do(
    clicked_offer, order_factory
):
    _, checkout = clicked_offer
    handlers.on_order_placed(order_from(checkout, order_factory))
    bought_through_offer = Conversion.objects.get().converted_at

    soon = order_factory(country="PL", created_at=bought_through_offer + timedelta(hours=2))
    next_day = order_factory(country="PL", created_at=bought_through_offer + timedelta(hours=25))
    handlers.on_order_placed(soon)
    handlers.on_order_placed(next_day)

    assert offers_of(soon) == []
    assert [message.step for message in offers_of(next_day)] == [1, 2, 3]


def test_a_shorter_pause_leaves_out_only_the_offers_due_within_it(
    offers_channel, clicked_offer, order_factory
):
    offers_channel(**{conf.OFFER_PAUSE_AFTER_CONVERSION_HOURS: "2"})
    _, checkout = clicked_offer
    order = order_from(checkout, order_factory)

    handlers.on_order_placed(order)

    # Offers at 15 minutes, 3 hours and 20 hours: the first falls within the two hours.
    assert [message.step for message in offers_of(order)] == [2, 3]


def test_no_pause_lets_an_order_through_an_offer_start_its_offers(
    offers_channel, clicked_offer, order_factory
):
    offers_channel(**{conf.OFFER_PAUSE_AFTER_CONVERSION_HOURS: "0"})
    _, checkout = clicked_offer
    order = order_from(checkout, order_factory)

    handlers.on_order_placed(order)

    assert [message.step for message in offers_of(order)] == [1, 2, 3]
