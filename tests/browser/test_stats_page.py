"""The statistics page in headless Chromium: signing in by token, charts, a screenshot."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from saleor_sms_plugin import conf
from saleor_sms_plugin.constants import Flow, Status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[1] / "screenshots" / "stats.png"


@pytest.fixture
def texts(configure_channel, message_factory):
    """Three weeks of texts in two channels, with clicks, purchases and failures."""
    configure_channel("default-channel")
    configure_channel("channel-pln")
    now = timezone.now()
    for day in range(21):
        at = now - timedelta(days=day, hours=1)
        for index in range(3 + day % 5):
            message_factory(
                Flow.POST_PURCHASE_OFFER,
                Status.DELIVERED if index % 4 else Status.SENT,
                at=at,
                clicked=index % 2 == 0,
                revenue="42.00" if index == 2 else None,
            )
        message_factory(Flow.ORDER_CONFIRMATION, Status.DELIVERED, at=at)
        message_factory(Flow.WIN_BACK, Status.FAILED, at=at, sent=False)
        message_factory(
            Flow.ORDER_CONFIRMATION,
            Status.DELIVERED,
            at=at,
            channel_slug="channel-pln",
            revenue="120.00" if day % 7 == 0 else None,
            currency="PLN",
        )


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        pytest.skip("no Chromium at /usr/bin/chromium (install it: apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


def test_staff_see_funnels_and_texts_per_day(texts, live_server, staff_token, browser):
    url = f"{live_server.url}/plugins/channel/default-channel/{conf.PLUGIN_ID}/stats/"
    page = browser.new_page(viewport={"width": 1280, "height": 900})

    page.goto(f"{url}?token={staff_token('MANAGE_ORDERS')}&days=30")

    assert page.url == f"{url}?days=30"  # the token left the address bar
    assert page.locator("h1").inner_text() == "SMS statistics"
    assert page.locator(".funnel-chart").count() == 4
    assert page.locator(".daily-chart rect").count() >= 21
    offers = page.locator(".funnel", has_text="post purchase offer")
    assert "Converted" in offers.inner_text()
    assert page.locator(".card", has_text="Revenue").inner_text().count("USD") == 1
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000

    page.get_by_role("link", name="channel-pln").click()

    assert page.locator(".funnel-chart").count() == 1
    assert "PLN" in page.locator(".card", has_text="Revenue").inner_text()
    page.reload()
    assert page.locator("h1").inner_text() == "SMS statistics"  # the session holds


def test_without_a_token_the_browser_is_asked_for_one(channel, live_server, browser):
    page = browser.new_page()

    response = page.goto(
        f"{live_server.url}/plugins/channel/default-channel/{conf.PLUGIN_ID}/stats/"
    )

    assert response.status == 401
    assert page.get_by_label("Access token").is_visible()
