"""The link server: offer links on a host of their own, served with the link URLconf and no
middleware, behaving as the plugin's route does (problem pages, rate limit, headers)."""

import asyncio
import contextlib
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from asgiref.sync import async_to_sync
from django.core import signals
from django.db import close_old_connections
from django.test import RequestFactory
from django.utils import timezone

from saleor_sms_plugin import conf, link_server, offer_pages
from saleor_sms_plugin.models import LinkClick, OfferLink

from ..conftest import CAP_VARIANT, STOREFRONT
from .test_links_clicks import IPHONE

LINK_HOST = "https://go.shop.example"
LINK_RE = re.compile(re.escape(LINK_HOST) + r"(/[a-z-]+/l/[A-Za-z0-9_-]{32})(?![A-Za-z0-9_-])")
PLACED = datetime(2030, 1, 15, 13, 0, tzinfo=UTC)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.urls(link_server.LINK_URLCONF),
    pytest.mark.usefixtures("offers_channel"),
]


@pytest.fixture(autouse=True)
def link_host(offers_channel):
    offers_channel(**{conf.LINK_HOST: LINK_HOST + "/"})


@pytest.fixture
def send_offer(offer_order):
    def send(step):
        message = offer_order(step)
        match = LINK_RE.search(message.body)
        assert match, message.body
        return message, match.group(1)

    return send


def click(client, path, **headers):
    return client.get(path, HTTP_USER_AGENT=IPHONE, **headers)


def test_texts_carry_links_on_the_link_host(send_offer):
    message, path = send_offer(1)

    assert message.body.count(LINK_HOST) == 1
    assert path.startswith("/default-channel/l/")


def test_a_click_opens_the_prefilled_checkout(client, send_offer, checkout_store):
    message, path = send_offer(3)

    response = click(client, path)

    assert response.status_code == 302
    assert response["Location"].startswith(f"{STOREFRONT}/default-channel/pl/checkout?")
    [checkout] = checkout_store.checkouts.values()
    assert parse_qs(urlsplit(response["Location"]).query)["checkout"] == [checkout.id]
    assert checkout.voucher_code == "FIVEOFF"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    message.refresh_from_db()
    assert message.clicked_at is not None


def test_a_choice_offer_leads_to_its_page_on_the_link_host(client, send_offer, checkout_store):
    _, path = send_offer(2)

    response = click(client, path)

    assert response["Location"] == f"{LINK_HOST}{path}/choose"
    page = client.get(f"{path}/choose", HTTP_USER_AGENT=IPHONE)
    assert page.status_code == 200
    assert "Wybierz produkt" in page.content.decode()
    assert page["Content-Security-Policy"].startswith("default-src 'none'")
    chosen = client.post(f"{path}/choose", {"product": CAP_VARIANT}, HTTP_USER_AGENT=IPHONE)
    assert chosen.status_code == 302
    [checkout] = checkout_store.checkouts.values()
    assert checkout.lines == [CAP_VARIANT]


def test_a_tampered_token_gets_the_same_localized_page_and_headers(client, send_offer):
    _, path = send_offer(1)
    tampered = path[:-1] + ("A" if path[-1] != "A" else "B")

    response = click(client, tampered, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")

    assert response.status_code == 404
    assert "Dieser Link funktioniert nicht" in response.content.decode()
    for header, value in offer_pages.SECURITY_HEADERS.items():
        assert response[header] == value


def test_an_expired_link_gets_410(client, send_offer):
    message, path = send_offer(1)
    OfferLink.objects.filter(message=message).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    assert click(client, path).status_code == 410


def test_clicks_are_rate_limited_per_client(client, send_offer, settings):
    settings.SALEOR_SMS_LINK_RATE_LIMIT = (2, 60)
    _, path = send_offer(1)

    statuses = [click(client, path, REMOTE_ADDR="198.51.100.7") for _ in range(3)]

    assert [response.status_code for response in statuses] == [302, 302, 429]
    assert statuses[-1]["Retry-After"] == "60"


def test_a_channel_where_the_plugin_is_off_has_no_links(client, send_offer, configure_channel):
    _, path = send_offer(1)
    configure_channel(active=False)

    assert click(client, path).status_code == 404
    assert click(client, "/unknown-channel/l/" + path.rsplit("/", 1)[1]).status_code == 404
    assert LinkClick.objects.count() == 0


def test_links_on_saleors_plugin_path_are_served_too(client, send_offer, checkout_store):
    _, path = send_offer(1)
    token = path.rsplit("/", 1)[1]

    response = click(client, f"/plugins/channel/default-channel/{conf.PLUGIN_ID}/l/{token}")

    assert response.status_code == 302
    assert len(checkout_store.checkouts) == 1


def test_other_routes_of_the_plugin_are_not_served(client):
    assert (
        client.get(f"/plugins/channel/default-channel/{conf.PLUGIN_ID}/graphql/").status_code == 404
    )
    assert client.get("/health/").content == b"ok"


def test_the_link_host_must_be_an_absolute_url():
    with pytest.raises(conf.ConfigurationError) as raised:
        conf.parse_values({conf.LINK_HOST: "go.shop.example"})

    assert list(raised.value.errors) == [conf.LINK_HOST]


# The applications themselves ---------------------------------------------------------------


@contextlib.contextmanager
def transaction_kept_open():
    """As Django's test client does: a request's end must not close the test's connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def call_wsgi(path, **headers):
    environ = RequestFactory().get(path, **headers).environ
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer.update(status=int(status.split()[0]), headers=dict(response_headers))

    with transaction_kept_open():
        body = b"".join(link_server.wsgi_application(environ, start_response))
    return answer["status"], answer["headers"], body


def call_asgi(path, user_agent):
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"go.shop.example"), (b"user-agent", user_agent.encode())],
        "client": ("203.0.113.5", 50000),
        "server": ("go.shop.example", 443),
    }
    sent = []
    requests = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # the client stays connected until the answer is sent

    async def send(message):
        sent.append(message)

    with transaction_kept_open():
        # Run from this thread, so the view's queries use the test's connection.
        async_to_sync(link_server.application)(scope, receive, send)
    start = next(message for message in sent if message["type"] == "http.response.start")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}


def test_the_wsgi_application_serves_a_click(send_offer, checkout_store):
    _, path = send_offer(1)

    status, headers, _ = call_wsgi(path, HTTP_USER_AGENT=IPHONE)

    assert status == 302
    assert headers["Location"].startswith(STOREFRONT)
    assert len(checkout_store.checkouts) == 1


def test_the_asgi_application_serves_a_click_and_problem_pages(send_offer, checkout_store):
    _, path = send_offer(1)

    status, headers = call_asgi(path, IPHONE)
    missing, missing_headers = call_asgi(path[:-4] + "AAAA", IPHONE)

    assert status == 302
    assert headers["Location"].startswith(STOREFRONT)
    assert len(checkout_store.checkouts) == 1
    assert missing == 404
    assert missing_headers["X-Robots-Tag"] == "noindex"


def test_the_asgi_application_is_asynchronous():
    assert asyncio.iscoroutinefunction(link_server.application.__call__)
