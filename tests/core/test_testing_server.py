"""The bundled Twilio-compatible server, seen through the real Twilio SDK and plain HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from saleor_sms_plugin.backends.twilio_http import BaseUrlHttpClient
from saleor_sms_plugin.testing import TwilioServer

from ..conftest import ACCOUNT_SID, AUTH_TOKEN, SENDER

TO = "+12015550123"


@pytest.fixture
def client(twilio_server: TwilioServer) -> Iterator[Client]:
    twilio_server.reset()
    yield Client(
        ACCOUNT_SID, AUTH_TOKEN, http_client=BaseUrlHttpClient(base_url=twilio_server.base_url)
    )
    twilio_server.reset()


class Receiver:
    """A tiny web app on loopback that records what is posted to it."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str], dict[str, str]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                receiver.posts.append((self.path, form, dict(self.headers)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    app = Receiver()
    yield app
    app.close()


def test_create_answers_with_twilios_message_resource(client, twilio_server):
    message = client.messages.create(to=TO, from_=SENDER, body="Hello there")

    assert message.sid.startswith("SM")
    assert len(message.sid) == 34
    assert (message.status, message.to, message.from_) == ("queued", TO, SENDER)
    assert message.num_segments == "1"
    assert message.direction == "outbound-api"
    assert message.date_created.tzinfo is not None
    [accepted] = twilio_server.messages
    assert accepted.form == {"To": TO, "From": SENDER, "Body": "Hello there"}
    assert client.messages(message.sid).fetch().body == "Hello there"


def test_messaging_service_sender_has_no_from_number(client):
    service = "MG" + "2" * 32
    message = client.messages.create(to=TO, messaging_service_sid=service, body="Hi")

    assert message.messaging_service_sid == service
    assert message.from_ is None


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("a" * 160, "1"),
        ("a" * 161, "2"),
        ("a" * 306, "2"),
        ("a" * 307, "3"),
        ("€" * 80, "1"),
        ("€" * 81, "2"),
        ("ż" * 70, "1"),
        ("ż" * 71, "2"),
        ("ż" * 135, "3"),
        ("😀" * 36, "2"),
    ],
)
def test_segments_follow_the_encoding(client, body, segments):
    message = client.messages.create(to=TO, from_=SENDER, body=body)

    assert message.num_segments == segments


def test_list_filters_by_recipient_and_pages_through_everything(client):
    for number in range(7):
        client.messages.create(to=TO, from_=SENDER, body=f"text {number}")
    client.messages.create(to="+12015550999", from_=SENDER, body="someone else")

    listed = client.messages.list(to=TO, page_size=3)

    assert sorted(message.body for message in listed) == [f"text {n}" for n in range(7)]


def test_stream_follows_next_page_uris(client):
    for number in range(5):
        client.messages.create(to=TO, from_=SENDER, body=f"text {number}")

    page = client.messages.page(page_size=2)
    streamed = list(client.messages.stream(page_size=2))

    assert len(list(page)) == 2
    assert page.next_page_url is not None
    assert [message.body for message in streamed] == [f"text {n}" for n in reversed(range(5))]


def test_fetching_an_unknown_message_is_a_404(client):
    with pytest.raises(TwilioRestException) as missing:
        client.messages("SM" + "0" * 32).fetch()

    assert (missing.value.code, missing.value.status) == (20404, 404)


def test_list_filters_by_date_sent(client):
    client.messages.create(to=TO, from_=SENDER, body="now")

    assert client.messages.list(date_sent_after=datetime.now(UTC) - timedelta(minutes=1))
    assert not client.messages.list(date_sent_after=datetime.now(UTC) + timedelta(minutes=1))


def test_wrong_credentials_are_refused_as_twilio_does(twilio_server):
    intruder = Client(
        ACCOUNT_SID, "wrong", http_client=BaseUrlHttpClient(base_url=twilio_server.base_url)
    )

    with pytest.raises(TwilioRestException) as refused:
        intruder.messages.create(to=TO, from_=SENDER, body="Hi")

    assert (refused.value.code, refused.value.status) == (20003, 401)
    assert twilio_server.messages == []


def test_another_accounts_messages_are_forbidden(twilio_server):
    twilio_server.reset()
    other = "AC" + "f" * 32
    url = f"{twilio_server.base_url}/2010-04-01/Accounts/{other}/Messages.json"

    response = requests.get(url, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)

    assert (response.status_code, response.json()["code"]) == (403, 20003)


def test_unauthenticated_plain_request_gets_twilios_error_body(twilio_server):
    twilio_server.reset()
    url = f"{twilio_server.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"

    response = requests.post(url, data={"To": TO, "From": SENDER, "Body": "Hi"}, timeout=5)

    assert response.status_code == 401
    assert response.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }


@pytest.mark.parametrize(
    ("code", "status", "reported_code"),
    [
        (21211, 400, 21211),
        (21610, 400, 21610),
        (21614, 400, 21614),
        (429, 429, 20429),
        (500, 500, 20500),
        (502, 502, 20500),
        (503, 503, 20503),
    ],
)
def test_injected_error_surfaces_once_then_sending_works(
    client, twilio_server, code, status, reported_code
):
    twilio_server.fail_next(code)

    with pytest.raises(TwilioRestException) as failed:
        client.messages.create(to=TO, from_=SENDER, body="Hi")

    assert (failed.value.code, failed.value.status) == (reported_code, status)
    assert twilio_server.messages == []
    assert client.messages.create(to=TO, from_=SENDER, body="Hi").status == "queued"
    assert twilio_server.requests_count == 2


def test_injected_errors_can_repeat(client, twilio_server):
    twilio_server.fail_next(503, count=2)

    for _ in range(2):
        with pytest.raises(TwilioRestException):
            client.messages.create(to=TO, from_=SENDER, body="Hi")

    assert client.messages.create(to=TO, from_=SENDER, body="Hi").status == "queued"


def test_an_error_injected_for_one_number_spares_the_others(client, twilio_server):
    other = "+48600100200"
    twilio_server.fail_next(429, to=TO)

    assert client.messages.create(to=other, from_=SENDER, body="Hi").status == "queued"
    with pytest.raises(TwilioRestException) as failed:
        client.messages.create(to=TO, from_=SENDER, body="Hi")

    assert (failed.value.code, failed.value.status) == (20429, 429)
    assert client.messages.create(to=TO, from_=SENDER, body="Hi").status == "queued"
    assert [message.to for message in twilio_server.messages] == [other, TO]


def test_only_known_errors_can_be_injected(twilio_server):
    with pytest.raises(ValueError, match="cannot inject"):
        twilio_server.fail_next(404)


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"From": SENDER, "Body": "Hi"}, 21604),
        ({"To": TO, "Body": "Hi"}, 21603),
        ({"To": TO, "From": SENDER}, 21602),
        ({"To": "0201 555", "From": SENDER, "Body": "Hi"}, 21211),
    ],
)
def test_invalid_requests_are_rejected_with_twilios_codes(twilio_server, form, code):
    url = f"{twilio_server.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"

    response = requests.post(url, data=form, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)

    assert (response.status_code, response.json()["code"]) == (400, code)


def test_latency_delays_each_request_without_serializing_them(client, twilio_server):
    twilio_server.latency = 0.3
    started = time.monotonic()
    threads = [
        threading.Thread(
            target=client.messages.create, kwargs={"to": TO, "from_": SENDER, "body": str(n)}
        )
        for n in range(10)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started

    assert len(twilio_server.messages) == 10
    assert 0.3 <= elapsed < 2.5


def test_accepting_a_text_can_be_slower_than_reading_texts_back(client, twilio_server):
    twilio_server.create_latency = 0.5
    started = time.monotonic()
    client.messages.create(to=TO, from_=SENDER, body="slow to accept")
    created = time.monotonic()
    assert [message.body for message in client.messages.list(to=TO)] == ["slow to accept"]

    assert created - started >= 0.5
    assert time.monotonic() - created < 0.5
    twilio_server.reset()
    assert twilio_server.create_latency is None


def test_the_most_requests_answered_at_once_is_counted(client, twilio_server):
    twilio_server.latency = 0.3
    threads = [
        threading.Thread(
            target=client.messages.create, kwargs={"to": TO, "from_": SENDER, "body": str(n)}
        )
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.messages.create(to=TO, from_=SENDER, body="alone")

    assert twilio_server.peak_requests_in_flight == 4
    twilio_server.reset()
    assert twilio_server.peak_requests_in_flight == 0


def test_status_callbacks_are_posted_in_order_and_signed(client, twilio_server, receiver):
    url = f"{receiver.url}/status?message=7"
    message = client.messages.create(to=TO, from_=SENDER, body="Hi", status_callback=url)

    callbacks = twilio_server.wait_for_callbacks(2)

    assert [c.params["MessageStatus"] for c in callbacks] == ["sent", "delivered"]
    assert all(c.response_status == 204 for c in callbacks)
    validator = RequestValidator(AUTH_TOKEN)
    for path, form, headers in receiver.posts:
        assert form["MessageSid"] == message.sid
        assert validator.validate(receiver.url + path, form, headers["X-Twilio-Signature"])
    assert client.messages(message.sid).fetch().status == "delivered"


def test_undelivered_outcome_carries_the_error_code(client, twilio_server, receiver):
    twilio_server.outcome_for(TO, "undelivered", error_code=30003)
    client.messages.create(to=TO, from_=SENDER, body="Hi", status_callback=receiver.url)

    sent, undelivered = twilio_server.wait_for_callbacks(2)

    assert sent.params["MessageStatus"] == "sent"
    assert undelivered.params["MessageStatus"] == "undelivered"
    assert undelivered.params["ErrorCode"] == "30003"


def test_unreachable_callback_is_recorded_and_sending_goes_on(client, twilio_server, receiver):
    receiver.close()
    client.messages.create(to=TO, from_=SENDER, body="Hi", status_callback=receiver.url)

    callbacks = twilio_server.wait_for_callbacks(2)

    assert [c.response_status for c in callbacks] == [None, None]
    assert client.messages.create(to=TO, from_=SENDER, body="again").status == "queued"


def test_reset_forgets_everything(client, twilio_server):
    client.messages.create(to=TO, from_=SENDER, body="Hi")
    twilio_server.fail_next(500)
    twilio_server.latency = 1.0

    twilio_server.reset()

    assert (twilio_server.messages, twilio_server.requests_count, twilio_server.latency) == (
        [],
        0,
        0,
    )
    assert client.messages.create(to=TO, from_=SENDER, body="Hi").status == "queued"


def test_callbacks_never_leave_the_machine(client, twilio_server):
    client.messages.create(
        to=TO, from_=SENDER, body="Hi", status_callback="https://shop.example.com/status"
    )

    callbacks = twilio_server.wait_for_callbacks(2)

    assert {c.response_status for c in callbacks} == {None}
    assert "loopback" in callbacks[0].note


def test_inbound_text_is_posted_signed(twilio_server, receiver):
    status, _ = twilio_server.send_inbound(receiver.url + "/inbound", TO, SENDER, "STOP")

    [(path, form, headers)] = receiver.posts
    assert status == 204
    assert (form["From"], form["To"], form["Body"]) == (TO, SENDER, "STOP")
    validator = RequestValidator(AUTH_TOKEN)
    assert validator.validate(receiver.url + path, form, headers["X-Twilio-Signature"])


def test_command_line_runs_the_server_in_the_foreground():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "saleor_sms_plugin.testing", "--port", str(port)),
            *("--account", f"{ACCOUNT_SID}:{AUTH_TOKEN}"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert f"http://127.0.0.1:{port}" in process.stdout.readline()
        http = BaseUrlHttpClient(base_url=f"http://127.0.0.1:{port}")
        client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http)
        assert client.messages.create(to=TO, from_=SENDER, body="Hi").status == "queued"
    finally:
        process.terminate()
        process.wait(timeout=10)
