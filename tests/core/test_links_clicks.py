"""Opening an offer link: a prefilled checkout with the voucher, clicks recorded, and friendly
pages for links that cannot be used. Checkouts go through the in-memory gateway."""

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from saleor_sms_plugin import checkouts, conf, dispatch, handlers, links, privacy, signals
from saleor_sms_plugin.backends import locmem
from saleor_sms_plugin.constants import Flow
from saleor_sms_plugin.models import CheckoutPreparation, LinkClick, Message, OfferLink

from ..conftest import CAP_VARIANT, MUG_VARIANT, STOREFRONT

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("offers_channel")]

# 14:00 in Warsaw: the offers at 15 min, 3 h and 20 h fall inside the sending hours.
PLACED = datetime(2030, 1, 15, 13, 0, tzinfo=UTC)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
LINK_RE = re.compile(r"https://api\.example\.com(/plugins/channel/[^\s]+/l/[A-Za-z0-9_-]{32})")


@pytest.fixture
def offer_texts(offer_order):
    """Sends the offer `step` of an order in Poland with consent: (message, the text sent)."""

    def send(step):
        message = offer_order(step)
        return message, locmem.outbox[-1]

    send.order = offer_order.order
    return send


def link_path(body):
    match = LINK_RE.search(body)
    assert match, body
    return match.group(1)


def click(client, path, user_agent=IPHONE, **headers):
    return client.get(path, HTTP_USER_AGENT=user_agent, **headers)


def test_the_text_carries_a_short_link_the_code_the_discount_and_the_expiry(offer_texts):
    message, sms = offer_texts(1)

    path = link_path(sms.body)
    assert path.startswith(f"/plugins/channel/default-channel/{conf.PLUGIN_ID}/l/")
    assert "THANKS15" in sms.body
    assert "15%" in sms.body
    link = OfferLink.objects.get(message=message)
    assert (link.offer_id, link.voucher_code) == ("thanks15", "THANKS15")
    assert abs(link.expires_at - link.created_at - timedelta(days=7)) < timedelta(seconds=1)
    assert message.order_number not in path
    assert "600" not in path


def test_a_click_opens_a_prefilled_checkout_with_the_voucher_in_the_storefront(
    client, offer_texts, checkout_store
):
    message, sms = offer_texts(1)

    response = click(client, link_path(sms.body))

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}" == STOREFRONT
    assert location.path == "/default-channel/pl/checkout"
    [checkout_id] = parse_qs(location.query)["checkout"]
    [checkout] = checkout_store.checkouts.values()
    assert checkout.id == checkout_id
    order = offer_texts.order
    assert checkout.email == order.email
    assert checkout.shipping_address == order.shipping_address
    assert checkout.billing_address == order.billing_address
    assert checkout.language == "pl"
    assert checkout.lines == []
    assert checkout.voucher_code == "THANKS15"
    assert checkout.metadata == {
        links.METADATA_LINK: OfferLink.objects.get(message=message).key,
        links.METADATA_MESSAGE: str(message.pk),
        links.METADATA_FLOW: Flow.POST_PURCHASE_OFFER.value,
    }


def test_a_click_is_recorded_with_its_time_and_device_and_no_address(client, offer_texts):
    message, sms = offer_texts(1)
    received = []
    signals.link_clicked.connect(lambda **kwargs: received.append(kwargs), weak=False)
    try:
        click(client, link_path(sms.body), REMOTE_ADDR="203.0.113.9")
        click(client, link_path(sms.body), REMOTE_ADDR="203.0.113.9")
    finally:
        signals.link_clicked.receivers.clear()

    message.refresh_from_db()
    assert message.clicked_at is not None
    assert [c.device for c in LinkClick.objects.filter(link__message=message)] == ["mobile"] * 2
    assert [kwargs["first_click"] for kwargs in received] == [True, False]
    assert received[0]["message_id"] == message.pk
    assert received[0]["url"].startswith(STOREFRONT)
    stored = [str(value) for row in LinkClick.objects.values() for value in row.values()]
    assert not any("203.0.113" in value for value in stored)


def test_a_second_click_reuses_the_open_checkout_and_a_new_one_follows_an_order(
    client, offer_texts, checkout_store
):
    _, sms = offer_texts(1)
    path = link_path(sms.body)

    first = click(client, path)["Location"]
    again = click(client, path)["Location"]
    [checkout] = checkout_store.checkouts.values()
    checkout_store.complete(checkout.token)
    after_order = click(client, path)["Location"]

    assert again == first
    assert after_order != first
    assert len(checkout_store.checkouts) == 2


def test_a_product_offer_puts_its_products_in_the_checkout(client, offer_texts, checkout_store):
    message, sms = offer_texts(3)

    click(client, link_path(sms.body))

    [checkout] = checkout_store.checkouts.values()
    assert checkout.lines == [MUG_VARIANT]
    assert checkout.voucher_code == "FIVEOFF"
    assert checkout.currency == "USD"
    assert (checkout.subtotal, checkout.total) == (12, 7)


def test_a_choice_offer_leads_to_its_page_and_one_product_to_the_checkout(
    client, offer_texts, checkout_store
):
    message, sms = offer_texts(2)
    path = link_path(sms.body)

    response = click(client, path)

    assert response.status_code == 302
    assert response["Location"] == f"https://api.example.com{path}/choose"
    page = client.get(f"{path}/choose", HTTP_USER_AGENT=IPHONE)
    assert page.status_code == 200
    html = page.content.decode()
    assert '<html lang="pl">' in html
    assert "Wybierz produkt" in html
    for name in ("Enamel mug", "Canvas cap", "Wool socks"):
        assert name in html
    assert "14,80" in html  # 18.50 less 20 %, written as Polish writes it
    assert checkout_store.checkouts == {}

    chosen = client.post(f"{path}/choose", {"product": CAP_VARIANT}, HTTP_USER_AGENT=IPHONE)

    assert chosen.status_code == 302
    [checkout] = checkout_store.checkouts.values()
    assert checkout.lines == [CAP_VARIANT]
    assert parse_qs(urlsplit(chosen["Location"]).query)["checkout"] == [checkout.id]


def test_each_recipient_gets_a_unique_code_of_the_offers_voucher(
    client, offer_texts, order_factory, checkout_store
):
    message, sms = offer_texts(2)
    other = order_factory(
        country="PL",
        phone="+48 600 100 300",
        created_at=PLACED,
        metadata=offer_texts.order.metadata,
    )
    handlers.on_order_placed(other)
    second = Message.objects.get(order_id=other.id, step=2)
    dispatch.send_message(second.pk, now=second.due_at + timedelta(seconds=1))

    codes = {OfferLink.objects.get(message=m).voucher_code for m in (message, second)}

    assert len(codes) == 2
    assert all(code in checkout_store.vouchers for code in codes)
    client.post(f"{link_path(sms.body)}/choose", {"product": MUG_VARIANT}, HTTP_USER_AGENT=IPHONE)
    [checkout] = checkout_store.checkouts.values()
    assert checkout.voucher_code == OfferLink.objects.get(message=message).voucher_code


def test_a_product_that_is_not_on_offer_cannot_be_chosen(client, offer_texts, checkout_store):
    _, sms = offer_texts(2)

    response = client.post(f"{link_path(sms.body)}/choose", {"product": "UHJvZHVjdDo5OQ=="})

    assert response.status_code == 400
    assert checkout_store.checkouts == {}


def test_link_previews_and_scanners_get_no_checkout(client, offer_texts, checkout_store):
    message, sms = offer_texts(1)

    response = click(client, link_path(sms.body), user_agent="WhatsApp/2.24.6.77 A")

    assert response.status_code == 302
    assert response["Location"] == f"{STOREFRONT}/default-channel/pl/"
    assert checkout_store.checkouts == {}
    message.refresh_from_db()
    assert message.clicked_at is None
    assert LinkClick.objects.get().device == links.BOT


def test_a_tampered_token_gets_a_localized_page_with_a_link_to_the_store(client, offer_texts):
    _, sms = offer_texts(1)
    path = link_path(sms.body)
    tampered = path[:-1] + ("A" if path[-1] != "A" else "B")

    response = click(client, tampered, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")

    assert response.status_code == 404
    html = response.content.decode()
    assert "Dieser Link funktioniert nicht" in html
    assert f'href="{STOREFRONT}/default-channel/de/"' in html
    assert "InvalidToken" not in html
    assert "signature" not in html.lower()
    assert response["Cache-Control"] == "private, no-store"


def test_an_unknown_but_well_signed_token_gets_the_same_page(client):
    token = links.sign(links.new_key())

    response = click(client, f"/plugins/channel/default-channel/{conf.PLUGIN_ID}/l/{token}")

    assert response.status_code == 404
    assert "This link does not work" in response.content.decode()


def test_a_link_of_another_channel_is_unknown_here(client, offer_texts, offers_channel):
    offers_channel("channel-pln")
    _, sms = offer_texts(1)

    response = click(client, link_path(sms.body).replace("default-channel", "channel-pln"))

    assert response.status_code == 404


def test_an_expired_link_gets_a_page_in_the_texts_language(client, offer_texts):
    message, sms = offer_texts(3)  # this offer's links last one day
    OfferLink.objects.filter(message=message).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    response = click(client, link_path(sms.body))

    assert response.status_code == 410
    html = response.content.decode()
    assert "Ta oferta już się zakończyła" in html
    assert "Przejdź do sklepu" in html


def test_a_link_whose_offer_was_removed_counts_as_expired(client, offer_texts, offers_channel):
    _, sms = offer_texts(1)
    offers_channel(**{conf.OFFERS: "[]"})

    assert click(client, link_path(sms.body)).status_code == 410


def test_clicks_are_rate_limited_per_client(client, offer_texts, settings):
    settings.SALEOR_SMS_LINK_RATE_LIMIT = (3, 60)
    _, sms = offer_texts(1)
    path = link_path(sms.body)

    statuses = [click(client, path, REMOTE_ADDR="198.51.100.7").status_code for _ in range(4)]
    other_client = click(client, path, REMOTE_ADDR="198.51.100.8").status_code

    assert statuses == [302, 302, 302, 429]
    assert other_client == 302


@pytest.mark.usefixtures("link_cache")
def test_forwarded_for_entries_written_by_the_client_do_not_escape_the_rate_limit(
    client, offer_texts, settings
):
    """60 clicks through one proxy, each claiming another address left of what it wrote."""
    settings.SALEOR_SMS_CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    _, sms = offer_texts(1)
    path = link_path(sms.body)

    statuses = [
        click(client, path, HTTP_X_FORWARDED_FOR=f"1.2.{number}.3, 10.5.5.5").status_code
        for number in range(60)
    ]

    assert statuses == [302] * 30 + [429] * 30  # SALEOR_SMS_LINK_RATE_LIMIT: (30, 60)


@pytest.mark.usefixtures("link_cache")
def test_clients_behind_a_proxy_are_counted_apart(client, offer_texts, settings):
    settings.SALEOR_SMS_CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.SALEOR_SMS_LINK_RATE_LIMIT = (2, 60)
    _, sms = offer_texts(1)
    path = link_path(sms.body)

    first = [
        click(client, path, HTTP_X_FORWARDED_FOR=f"1.2.{number}.3, 203.0.113.1").status_code
        for number in range(3)
    ]
    second = click(client, path, HTTP_X_FORWARDED_FOR="203.0.113.2").status_code

    assert first == [302, 302, 429]
    assert second == 302


def test_the_rate_limit_counts_a_keyed_hash_of_the_address(client, offer_texts, link_cache):
    _, sms = offer_texts(1)

    click(client, link_path(sms.body), REMOTE_ADDR="198.51.100.7")

    keys = [key.decode() for key in link_cache._cache.get_client().keys("*")]
    assert keys
    assert all("198.51.100.7" not in key for key in keys)


def test_the_rate_limit_window_is_kept_in_redis_and_read_by_djangos_cache(
    client, offer_texts, link_cache, settings
):
    settings.SALEOR_SMS_LINK_RATE_LIMIT = (5, 60)
    _, sms = offer_texts(1)

    for _ in range(2):
        click(client, link_path(sms.body), REMOTE_ADDR="198.51.100.7")

    redis = link_cache._cache.get_client()
    [key] = redis.keys("*clicks*")
    assert 0 < redis.ttl(key) <= 60
    assert link_cache.get(key.decode().split(":", 2)[2]) == 2  # the count, as Django reads it


def test_the_rate_limit_works_with_a_cache_that_is_not_redis(client, offer_texts, settings):
    settings.CACHES = {
        **settings.CACHES,
        "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    settings.SALEOR_SMS_LINK_RATE_LIMIT_CACHE = "local"
    settings.SALEOR_SMS_LINK_RATE_LIMIT = (2, 60)
    _, sms = offer_texts(1)

    statuses = [click(client, link_path(sms.body)).status_code for _ in range(3)]

    assert statuses == [302, 302, 429]


def test_clicks_pass_when_the_rate_limit_cache_is_down(client, offer_texts, settings, caplog):
    settings.CACHES = {
        **settings.CACHES,
        "down": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens there
        },
    }
    settings.SALEOR_SMS_LINK_RATE_LIMIT_CACHE = "down"
    _, sms = offer_texts(1)

    assert click(client, link_path(sms.body)).status_code == 302
    assert "rate limit unavailable" in caplog.text


def test_only_get_opens_a_link(client, offer_texts):
    _, sms = offer_texts(1)

    assert client.post(link_path(sms.body)).status_code == 405


@pytest.mark.django_db(transaction=True)
def test_clicks_at_the_same_moment_make_one_checkout(offer_texts, checkout_store):
    _, sms = offer_texts(1)
    path = link_path(sms.body)

    def open_link(_):
        try:
            return click(Client(), path)["Location"]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        locations = set(pool.map(open_link, range(6)))

    assert len(locations) == 1
    assert len(checkout_store.checkouts) == 1


def test_a_text_without_an_offer_links_to_the_store_and_counts_the_click(
    client, offers_channel, order_factory, checkout_store
):
    # A text that needs no offer: the shipped win-back texts name a discount and a code.
    offers_channel(
        **{
            conf.flow_switch(Flow.WIN_BACK): True,
            conf.text_override("win_back_1"): "{{ shop_name }}: new in store: {{ offer_link }}",
        }
    )
    order = order_factory(
        country="PL",
        language_code="pl",
        created_at=PLACED,
        metadata={"sms_marketing_consent": "true"},
    )
    handlers.on_order_placed(order)
    message = Message.objects.get(order_id=order.id, flow=Flow.WIN_BACK)
    dispatch.send_message(message.pk, now=message.due_at + timedelta(hours=1))

    response = click(client, link_path(locmem.outbox[-1].body))

    assert response.status_code == 302
    assert response["Location"] == f"{STOREFRONT}/default-channel/pl/"
    assert checkout_store.checkouts == {}
    message.refresh_from_db()
    assert message.clicked_at is not None
    assert OfferLink.objects.get(message=message).offer_id == ""


# Erasure ------------------------------------------------------------------------------------


def test_an_erased_customers_links_expire_and_their_checkouts_are_deleted(
    client, offer_texts, checkout_store
):
    first, sms = offer_texts(1)
    third, _ = offer_texts(3)  # its checkout not prepared yet
    assert click(client, link_path(sms.body)).status_code == 302
    [token] = checkout_store.checkouts

    erasure = privacy.erase_customer([first.customer_ref])

    assert (erasure.links, erasure.checkouts) == (2, 1)
    assert checkout_store.checkouts == {}
    link = OfferLink.objects.get(message=first)
    assert link.expires_at <= timezone.now()
    assert (link.checkout_id, link.checkout_token, link.checkout_lines) == ("", "", [])
    assert OfferLink.objects.get(message=third).prepare_state == CheckoutPreparation.SKIPPED
    page = click(client, link_path(sms.body))
    assert page.status_code == 410
    assert checkout_store.checkouts == {}  # the expired link made no new one


def test_a_checkout_that_became_an_order_is_kept_on_erasure(client, offer_texts, checkout_store):
    message, sms = offer_texts(1)
    click(client, link_path(sms.body))
    [checkout] = checkout_store.checkouts.values()
    checkout.is_open = False  # the shopper completed it

    erasure = privacy.erase_customer([message.customer_ref])

    assert erasure.checkouts == 0
    assert list(checkout_store.checkouts) == [checkout.token]


class StoreDownGateway(checkouts.LocmemCheckoutGateway):
    def delete_checkouts(self, tokens):
        raise checkouts.CheckoutError("the store is down")


def test_erasure_completes_when_the_store_cannot_delete_checkouts(
    client, offer_texts, checkout_store, settings, caplog
):
    message, sms = offer_texts(1)
    click(client, link_path(sms.body))
    settings.SALEOR_SMS_CHECKOUT_GATEWAY = f"{__name__}.StoreDownGateway"

    erasure = privacy.erase_customer([message.customer_ref])

    assert (erasure.links, erasure.checkouts) == (1, 0)
    assert Message.objects.get(pk=message.pk).context == {}
    assert "checkouts of 1 erased offer links were not deleted" in caplog.text
