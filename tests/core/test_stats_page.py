"""The statistics page: staff only, signed in once by token, then by a session cookie."""

from datetime import timedelta

import pytest
from django.utils import timezone

from saleor_sms_plugin import auth, conf
from saleor_sms_plugin.constants import Flow, Status
from saleor_sms_plugin.stats import Figures, Row
from saleor_sms_plugin.stats_page import daily_chart, funnel

pytestmark = pytest.mark.django_db

URL = f"/plugins/channel/default-channel/{conf.PLUGIN_ID}/stats/"


@pytest.fixture
def texts(channel, configure_channel, message_factory):
    configure_channel("channel-pln")
    now = timezone.now()
    for _ in range(4):
        message_factory(Flow.POST_PURCHASE_OFFER, Status.DELIVERED)
    message_factory(Flow.POST_PURCHASE_OFFER, Status.DELIVERED, revenue="59.90")
    message_factory(Flow.ORDER_CONFIRMATION, Status.SENT, at=now - timedelta(days=2))
    message_factory(Flow.ORDER_CONFIRMATION, Status.DELIVERED, channel_slug="channel-pln")


def signed_in(client, staff_token, *permissions):
    return client.get(URL, {"token": staff_token(*permissions), "days": "7"})


def test_without_credentials_the_page_asks_for_a_token(channel, client):
    page = client.get(URL)

    assert page.status_code == 401
    assert b'name="token"' in page.content
    assert b"MANAGE_ORDERS" in page.content


def test_a_token_in_the_address_starts_a_session_and_is_dropped(channel, client, staff_token):
    response = signed_in(client, staff_token, "MANAGE_ORDERS")

    assert response.status_code == 302
    assert response["Location"] == URL + "?days=7"
    cookie = response.cookies[auth.SESSION_COOKIE]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == URL
    assert client.get(response["Location"]).status_code == 200


def test_the_page_shows_totals_funnels_and_texts_per_day(texts, client, staff_token):
    signed_in(client, staff_token, "MANAGE_PLUGINS")

    page = client.get(URL)
    html = page.content.decode()

    assert page.status_code == 200
    assert "signed in as staff staff@example.com" in html
    assert html.count('class="funnel-chart"') == 3  # two flows here, one in channel-pln
    assert 'class="daily-chart"' in html
    assert "59.90 USD" in html
    assert "post purchase offer" in html


def test_the_page_filters_by_channel(texts, client, staff_token):
    signed_in(client, staff_token, "MANAGE_ORDERS")

    html = client.get(URL, {"channel": "channel-pln"}).content.decode()

    assert html.count('class="funnel-chart"') == 1
    assert "post purchase offer" not in html


def test_the_page_loads_nothing_from_elsewhere_and_is_not_cached(texts, client, staff_token):
    page = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {staff_token('MANAGE_ORDERS')}")

    assert page.status_code == 200
    assert "default-src 'none'" in page["Content-Security-Policy"]
    assert page["Cache-Control"] == "private, no-store"
    assert page["Referrer-Policy"] == "no-referrer"
    assert b"<script" not in page.content
    assert b"http" not in page.content.split(b"<body>", 1)[1]


@pytest.mark.parametrize(
    ("kind", "permissions"),
    [("staff", ()), ("staff", ("MANAGE_PRODUCTS",)), ("customer", ("MANAGE_ORDERS",))],
)
def test_viewers_without_permission_are_turned_away(
    channel, client, staff_token, kind, permissions
):
    response = client.get(URL, {"token": staff_token(*permissions, kind=kind)})

    assert response.status_code == 403
    assert (
        auth.SESSION_COOKIE not in response.cookies
        or not response.cookies[auth.SESSION_COOKIE].value
    )


def test_a_forged_token_is_refused(channel, client, staff_token):
    response = client.get(URL, {"token": staff_token("MANAGE_ORDERS") + "x"})

    assert response.status_code == 401
    assert b"The token is not valid." in response.content


def test_the_session_ends(channel, client, staff_token, settings):
    signed_in(client, staff_token, "MANAGE_ORDERS")
    settings.SALEOR_SMS_SESSION_MAX_AGE = timedelta(seconds=-1)

    assert client.get(URL).status_code == 401


def test_a_forged_session_cookie_is_ignored(channel, client):
    client.cookies[auth.SESSION_COOKIE] = "forged"

    assert client.get(URL).status_code == 401


def test_only_get_is_served(channel, client):
    assert client.post(URL).status_code == 405


def test_the_funnel_narrows_from_sent_to_converted():
    figures = Figures(sent=200, delivered=180, clicked=45, converted=9)

    chart = funnel(Row("default-channel", "win_back", None, figures))

    assert [(step.label, step.value, step.width, step.rate) for step in chart.steps] == [
        ("Sent", 200, 100.0, ""),
        ("Delivered", 180, 90.0, "90%"),
        ("Clicked", 45, 22.5, "25%"),
        ("Converted", 9, 4.5, "20%"),
    ]


def test_daily_bars_are_scaled_to_the_busiest_day():
    rows = [
        Row(None, None, timezone.localdate() - timedelta(days=1), Figures(sent=10, delivered=5)),
        Row(None, None, timezone.localdate(), Figures(sent=20, delivered=20)),
    ]

    chart = daily_chart(rows)

    quiet, busy = chart.bars
    assert chart.max_value == 20
    assert sum(height for _, _, height, _ in busy.parts) == pytest.approx(chart.baseline - 16)
    assert sum(height for _, _, height, _ in quiet.parts) == pytest.approx(
        (chart.baseline - 16) / 2
    )
    assert [css_class for css_class, *_ in quiet.parts] == ["delivered", "sent"]
