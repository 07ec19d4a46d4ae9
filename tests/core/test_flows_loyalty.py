"""Loyalty invite: once per registered customer, days after an order, with consent only."""

from datetime import UTC, datetime, timedelta

import pytest

from saleor_sms_plugin import conf, dispatch, handlers, links
from saleor_sms_plugin.backends import locmem
from saleor_sms_plugin.conf import get_channel_settings
from saleor_sms_plugin.constants import Flow, SkipReason, Status
from saleor_sms_plugin.models import Message

pytestmark = pytest.mark.django_db(transaction=True)

PLACED = datetime(2030, 1, 15, 11, 0, tzinfo=UTC)  # noon in Warsaw
CONSENT = {"sms_marketing_consent": "true"}
DAY = timedelta(days=1)
CLUB_OFFER = (
    '[{"id": "club", "flow": "loyalty_invite", "kind": "voucher", '
    '"discount_type": "percentage", "discount_value": 10, "voucher_code": "CLUB10"}]'
)


@pytest.fixture
def loyalty_on(configure_channel):
    def configure(**values):
        return configure_channel(
            **{
                conf.flow_switch(Flow.ORDER_CONFIRMATION): False,
                conf.flow_switch(Flow.OPT_IN_CONFIRMATION): False,
                conf.flow_switch(Flow.LOYALTY_INVITE): True,
                conf.PUBLIC_BASE_URL: "https://api.example.com",
                **values,
            }
        )

    return configure


def buy(order_factory, at=PLACED, user_id="7", metadata=CONSENT, **kwargs):
    order = order_factory(
        country="PL", language_code="pl", created_at=at, metadata=metadata, user_id=user_id,
        **kwargs,
    )  # fmt: skip
    handlers.on_order_placed(order)
    return order


def invites():
    return list(Message.objects.filter(flow=Flow.LOYALTY_INVITE).order_by("id"))


def test_a_registered_customer_is_invited_days_after_the_order_in_their_language(
    loyalty_on, order_factory
):
    loyalty_on(**{conf.LOYALTY_INVITE_DELAY_DAYS: "3"})
    buy(order_factory)

    [invite] = invites()
    assert invite.due_at == PLACED + 3 * DAY
    dispatch.dispatch_due(now=PLACED + 3 * DAY - timedelta(minutes=1))
    assert locmem.outbox == []
    dispatch.dispatch_due(now=PLACED + 3 * DAY)

    [sms] = locmem.outbox
    assert sms.to == "+48600100200"
    assert "klubu lojalnościowego" in sms.body  # Polish, as the order
    assert sms.body.splitlines()[-1] == "Wypisz się: odpisz STOP."  # the opt-out line
    invite.refresh_from_db()
    assert invite.status == Status.SENT


def test_each_customer_is_invited_once_whatever_they_buy_next(loyalty_on, order_factory):
    loyalty_on()
    buy(order_factory)
    buy(order_factory, at=PLACED + DAY)
    for day in range(10):
        dispatch.dispatch_due(now=PLACED + day * DAY)

    assert len(invites()) == 1
    assert len(locmem.outbox) == 1


def test_guests_are_not_invited(loyalty_on, order_factory):
    loyalty_on()
    buy(order_factory, user_id="")

    assert invites() == []


def test_without_consent_the_invite_is_skipped_not_sent(loyalty_on, order_factory):
    loyalty_on()
    buy(order_factory, metadata={})
    dispatch.dispatch_due(now=PLACED + 10 * DAY)

    assert locmem.outbox == []
    assert [(m.status, m.reason) for m in invites()] == [(Status.SKIPPED, SkipReason.NO_CONSENT)]


def test_an_invite_with_an_offer_carries_its_link(loyalty_on, order_factory):
    loyalty_on(
        **{
            conf.OFFERS: CLUB_OFFER,
            conf.CHECKOUT_URL_TEMPLATE: "https://shop.example.com/checkout?checkout={checkout_id}",
        }
    )
    buy(order_factory)
    dispatch.dispatch_due(now=PLACED + 10 * DAY)

    [sms] = locmem.outbox
    [invite] = invites()
    link = invite.offer_link
    assert link.offer_id == "club"
    assert links.click_url(get_channel_settings("default-channel"), link) in sms.body


def test_switched_off_no_one_is_invited(loyalty_on, order_factory):
    loyalty_on(**{conf.flow_switch(Flow.LOYALTY_INVITE): False})
    buy(order_factory)

    assert invites() == []
