"""The product choice page in headless Chromium on a phone: one tap, a prefilled checkout."""

import re
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from saleor_sms_plugin import conf, dispatch, handlers
from saleor_sms_plugin.backends import locmem
from saleor_sms_plugin.models import Message

from ..conftest import CAP_VARIANT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[1] / "screenshots" / "offer_landing.png"
# 14:00 in Berlin: the second offer (3 hours later) falls inside the sending hours.
PLACED = datetime(2030, 1, 15, 13, 0, tzinfo=UTC)


class StorefrontHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<!doctype html><title>Checkout</title><h1>Checkout</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def storefront():
    """A stand-in storefront on loopback, answering every page; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), StorefrontHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def phone():
    """A headless Chromium emulating a phone (touch, mobile viewport and User-Agent)."""
    if not CHROMIUM.exists():
        pytest.skip("no Chromium at /usr/bin/chromium (install it: apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        context = chromium.new_context(**playwright.devices["Pixel 7"], locale="de-DE")
        yield context.new_page()
        context.close()
        chromium.close()


@pytest.fixture
def shop(offers_channel, live_server, storefront):
    """The channel's links served by the live server, leading to the stand-in storefront."""
    offers_channel(
        **{
            conf.PUBLIC_BASE_URL: live_server.url,
            conf.CHECKOUT_URL_TEMPLATE: storefront
            + "/{channel}/{language}/checkout?checkout={checkout_id}",
            conf.STORE_URL: storefront + "/{channel}/{language}/",
        }
    )
    return storefront


@pytest.fixture
def choice_link(shop, live_server, order_factory):
    """The link of a German shopper's second offer: a choice of three products, 20 % off."""
    order = order_factory(
        country="DE",
        language_code="de",
        created_at=PLACED,
        metadata={"sms_marketing_consent": "true"},
    )
    handlers.on_order_placed(order)
    message = Message.objects.get(order_id=order.id, step=2)
    dispatch.send_message(message.pk, now=message.due_at + timedelta(seconds=1))
    [sms] = locmem.outbox
    return re.search(rf"{re.escape(live_server.url)}/\S+/l/[\w-]{{32}}", sms.body).group(0)


def test_one_tap_on_a_product_opens_the_prefilled_checkout(
    choice_link, shop, phone, checkout_store
):
    phone.goto(choice_link)

    assert phone.url == f"{choice_link}/choose"
    assert phone.locator("html").get_attribute("lang") == "de"
    assert phone.locator("h1").inner_text() == "Wähle dein Produkt"
    products = phone.locator("li.product")
    assert products.count() == 3
    cap = products.filter(has_text="Canvas cap")
    assert "18,50" in cap.locator("s").inner_text()
    assert "14,80" in cap.locator("strong").inner_text()
    assert phone.locator(".badge").inner_text() == "\N{MINUS SIGN}20 %"
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= phone.viewport_size["width"]  # nothing wider than the phone's screen
    SCREENSHOT.parent.mkdir(exist_ok=True)
    phone.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000

    cap.get_by_role("button", name="Auswählen: Canvas cap").tap()
    phone.wait_for_url(f"{shop}/**")

    location = urlsplit(phone.url)
    assert location.path == "/default-channel/de/checkout"
    assert phone.locator("h1").inner_text() == "Checkout"
    [checkout] = checkout_store.checkouts.values()
    assert parse_qs(location.query)["checkout"] == [checkout.id]
    assert checkout.lines == [CAP_VARIANT]
    assert checkout.voucher_code in checkout_store.vouchers
    assert checkout.total == checkout.subtotal - checkout.discount < checkout.subtotal


def test_an_unknown_link_shows_a_page_with_the_way_to_the_store(live_server, shop, phone):
    url = f"{live_server.url}/plugins/channel/default-channel/{conf.PLUGIN_ID}/l/{'A' * 32}"

    response = phone.goto(url)

    assert response.status == 404
    assert phone.locator("h1").inner_text() == "Dieser Link funktioniert nicht"
    phone.get_by_role("link", name="Zum Shop").tap()
    phone.wait_for_url(f"{shop}/**")
    assert urlsplit(phone.url).path == "/default-channel/de/"
