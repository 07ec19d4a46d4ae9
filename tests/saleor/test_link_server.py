"""Inside Saleor: offer checkouts prepared in the background are real Saleor checkouts that a
click only redirects to, and the link server serves links with Saleor's settings."""

from __future__ import annotations

import dataclasses
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import RequestFactory
from saleor.checkout.models import Checkout

from saleor_sms_plugin import conf, handlers, link_server, links
from saleor_sms_plugin.composing import compose
from saleor_sms_plugin.constants import Status
from saleor_sms_plugin.models import CheckoutPreparation, Message, OfferLink
from saleor_sms_plugin.prepared_checkouts import prepare_checkouts

from ..conftest import make_order
from ..core.test_link_server import transaction_kept_open
from .test_checkout_links import (
    ADDRESS,
    IPHONE,
    STOREFRONT,
    offer,
    offer_text,
    read_checkout,
)

pytestmark = pytest.mark.django_db

LINK_HOST = "https://go.shop.example"


def sent(message: Message) -> Message:
    Message.objects.filter(pk=message.pk).update(status=Status.SENT)
    return message


def checkout_id_in(location: str) -> str:
    return parse_qs(urlsplit(location).query)["checkout"][0]


def call_link_server(path: str) -> tuple[int, dict[str, str]]:
    """One GET through the link server's WSGI application, on this test's connection."""
    environ = RequestFactory().get(path, HTTP_USER_AGENT=IPHONE).environ
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer.update(status=int(status.split()[0]), headers=dict(headers))

    with transaction_kept_open():
        response = link_server.wsgi_application(environ, start_response)
        b"".join(response)
        # As a WSGI server does: closing ends the request (and Django's per-thread URLconf).
        response.close()
    return answer["status"], answer["headers"]


def test_a_prepared_checkout_is_a_saleor_checkout_that_the_click_opens(
    client, api_client, channel_USD, offers_in, voucher_percentage, variant_id
):
    offers_in(channel_USD, offer(kind="products", products=[variant_id]))
    message, path = offer_text(channel_USD)
    sent(message)

    report = prepare_checkouts()

    assert report.prepared == 1
    link = OfferLink.objects.get(message=message)
    assert link.prepare_state == CheckoutPreparation.PREPARED
    checkout = Checkout.objects.get()
    assert str(checkout.token) == link.checkout_token
    assert checkout.voucher_code == "saleor"
    assert checkout.metadata_storage.metadata[links.METADATA_LINK] == link.key
    response = client.get(path, HTTP_USER_AGENT=IPHONE)
    assert response.status_code == 302
    assert checkout_id_in(response["Location"]) == link.checkout_id
    assert read_checkout(api_client, link.checkout_id)["totalPrice"]["gross"]["amount"] == 9.0
    assert Checkout.objects.count() == 1


def test_a_prepared_checkout_deleted_by_saleor_is_made_again_on_click(
    client, channel_USD, offers_in, voucher_percentage, variant_id
):
    offers_in(channel_USD, offer())  # a voucher alone: an empty checkout, deleted after hours
    message, path = offer_text(channel_USD)
    sent(message)
    prepare_checkouts()
    Checkout.objects.all().delete()  # as delete_expired_checkouts does

    response = client.get(path, HTTP_USER_AGENT=IPHONE)

    assert response.status_code == 302
    remade = Checkout.objects.get()
    assert (
        checkout_id_in(response["Location"]) == OfferLink.objects.get(message=message).checkout_id
    )
    assert remade.voucher_code == "saleor"


def link_host_path(channel: Any) -> str:
    """An order's first offer text written; the path of its link on the link host."""
    order = dataclasses.replace(
        make_order(channel_slug=channel.slug, metadata={"sms_marketing_consent": "true"}),
        shipping_address=ADDRESS,
        billing_address=ADDRESS,
    )
    handlers.on_order_placed(order)
    message = Message.objects.get(order_id=order.id, step=1)
    body = compose(message, conf.get_channel_settings(channel.slug)).body
    match = re.search(re.escape(LINK_HOST) + r"(/\S+/l/[A-Za-z0-9_-]{32})", body)
    assert match, body
    return match.group(1)


def test_the_link_server_serves_a_click_with_saleors_settings(
    api_client, channel_USD, offers_in, voucher_percentage, variant_id
):
    offers_in(channel_USD, offer(kind="products", products=[variant_id]), link_host=LINK_HOST)
    path = link_host_path(channel_USD)

    status, headers = call_link_server(path)

    assert path.startswith(f"/{channel_USD.slug}/l/")
    assert status == 302
    assert headers["Location"].startswith(f"{STOREFRONT}/{channel_USD.slug}/en/checkout?")
    checkout = read_checkout(api_client, checkout_id_in(headers["Location"]))
    assert checkout["lines"] == [{"quantity": 1, "variant": {"id": variant_id}}]
    assert checkout["voucherCode"] == "saleor"
    assert checkout["totalPrice"]["gross"]["amount"] == 9.0


def test_the_link_server_knows_no_links_where_the_plugin_is_inactive(
    channel_USD, offers_in, configure_sms, voucher_percentage, variant_id
):
    offers_in(channel_USD, offer(kind="products", products=[variant_id]), link_host=LINK_HOST)
    path = link_host_path(channel_USD)
    configure_sms(channel_USD, active=False)

    status, _ = call_link_server(path)

    assert status == 404
    assert Checkout.objects.count() == 0


def test_erasing_the_customer_deletes_the_checkouts_their_links_made_unless_paid(
    channel_USD, offers_in, voucher_percentage, variant_id
):
    from saleor.payment.models import Payment

    from saleor_sms_plugin import privacy

    offers_in(channel_USD, offer(kind="products", products=[variant_id]))
    unpaid, _ = offer_text(channel_USD)
    paying, _ = offer_text(channel_USD)
    for message in (sent(unpaid), sent(paying)):
        Message.objects.filter(pk=message.pk).update(customer_ref="ada@example.com")
    assert prepare_checkouts().prepared == 2
    paid_token = OfferLink.objects.get(message=paying).checkout_token
    Payment.objects.create(
        gateway="mirumee.payments.dummy",
        checkout=Checkout.objects.get(token=paid_token),
        total=9,
        currency="USD",
    )

    erasure = privacy.erase_customer(["ada@example.com"])

    assert (erasure.links, erasure.checkouts) == (2, 1)
    assert [str(token) for token in Checkout.objects.values_list("token", flat=True)] == [
        paid_token
    ]
    assert set(OfferLink.objects.values_list("checkout_token", flat=True)) == {""}
