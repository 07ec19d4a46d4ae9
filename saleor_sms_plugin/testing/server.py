"""A Twilio-compatible HTTP server on loopback: the Messages resource of Twilio's REST API.

It speaks what the official SDK sends and parses (paths, form fields, Basic auth, JSON shapes,
error bodies and codes), so code under test sends through the real `twilio` package. It can
inject errors and latency, and posts signed status callbacks the way Twilio does.
"""

from __future__ import annotations

import base64
import json
import queue
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from twilio.request_validator import RequestValidator

from ..texts.segments import count_segments

API_VERSION = "2010-04-01"
MESSAGES_PATH = re.compile(
    rf"^/{API_VERSION}/Accounts/(?P<account>AC\w+)/Messages(?:/(?P<sid>SM\w+))?\.json$"
)
E164 = re.compile(r"^\+[1-9]\d{1,14}$")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_CALLBACK_STATUSES = ("sent", "delivered")
FAILED_STATUSES = frozenset({"undelivered", "failed"})

# What Twilio answers for the errors the server can inject: HTTP status, code, message.
INJECTABLE_ERRORS: dict[int, tuple[int, int, str]] = {
    21211: (400, 21211, "The 'To' number {to} is not a valid phone number."),
    21610: (400, 21610, "Attempt to send to unsubscribed recipient"),
    21614: (400, 21614, "'To' number {to} is not a valid mobile number"),
    429: (429, 20429, "Too Many Requests"),
    500: (500, 20500, "An internal server error has occurred"),
    502: (502, 20500, "Bad Gateway"),
    503: (503, 20503, "Service Unavailable"),
}


class TwilioApiError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


@dataclass
class AcceptedMessage:
    """A message the server accepted, with the form exactly as posted."""

    sid: str
    account_sid: str
    form: dict[str, str]
    created_at: datetime
    status: str = "queued"
    error_code: int | None = None
    segments: int = 1

    @property
    def to(self) -> str:
        return self.form["To"]

    def resource(self) -> dict[str, Any]:
        date = _rfc2822(self.created_at)
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}.json"
        return {
            "sid": self.sid,
            "account_sid": self.account_sid,
            "to": self.form.get("To"),
            "from": self.form.get("From"),
            "messaging_service_sid": self.form.get("MessagingServiceSid"),
            "body": self.form.get("Body", ""),
            "status": self.status,
            "num_segments": str(self.segments),
            "num_media": "0",
            "direction": "outbound-api",
            "api_version": API_VERSION,
            "price": None,
            "price_unit": "USD",
            "error_code": self.error_code,
            "error_message": None,
            "uri": uri,
            "date_created": date,
            "date_updated": date,
            "date_sent": date,
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
        }


@dataclass
class Callback:
    """A status callback the server posted (or could not post: response_status None)."""

    url: str
    params: dict[str, str]
    response_status: int | None
    note: str = ""


@dataclass
class _Outcome:
    status: str
    error_code: int | None = None


@dataclass
class _State:
    messages: list[AcceptedMessage] = field(default_factory=list)
    by_sid: dict[str, AcceptedMessage] = field(default_factory=dict)
    # A list filtered by recipient reads only theirs, as Twilio's does: the server's own CPU
    # must not grow with the texts it holds when thousands of lookups come in.
    by_to: dict[str, list[AcceptedMessage]] = field(default_factory=dict)
    callbacks: list[Callback] = field(default_factory=list)
    failures: deque[int] = field(default_factory=deque)
    # Failures for one number only: To -> the codes its next create requests fail with.
    failures_for: dict[str, deque[int]] = field(default_factory=dict)
    outcomes: dict[str, _Outcome] = field(default_factory=dict)
    requests_count: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    answers_to_lose: int = 0


class TwilioServer:
    """`with TwilioServer(accounts={sid: token}) as twilio:` then point the SDK at `base_url`."""

    def __init__(
        self,
        accounts: dict[str, str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        verbose: bool = False,
    ) -> None:
        self.accounts = dict(accounts)
        self.latency = latency
        # Accepting a text can take longer than reading texts back (a carrier under load).
        self.create_latency: float | None = None
        self.verbose = verbose
        self.callback_statuses: tuple[str, ...] = DEFAULT_CALLBACK_STATUSES
        self._state = _State()
        self._lock = threading.Condition()
        self._callbacks: queue.Queue[tuple[AcceptedMessage, str] | None] = queue.Queue()
        self._httpd = _HttpServer((host, port), _Handler)
        self._httpd.twilio = self
        self._threads: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host = self._httpd.server_address[0]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{host}:{self._httpd.server_port}"

    def start(self) -> TwilioServer:
        self._threads = [
            threading.Thread(target=self._httpd.serve_forever, name="twilio-http", daemon=True),
            threading.Thread(target=self._post_callbacks, name="twilio-callbacks", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._callbacks.put(None)
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> TwilioServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what tests arrange ----------------------------------------------------------------

    def fail_next(self, code: int, count: int = 1, *, to: str | None = None) -> None:
        """The next `count` create requests fail with Twilio's answer for `code`; with `to`
        (an E.164 number), only the next `count` requests for that number do."""
        if code not in INJECTABLE_ERRORS:
            raise ValueError(f"cannot inject {code}; choose one of {sorted(INJECTABLE_ERRORS)}")
        with self._lock:
            failures = self._state.failures
            if to is not None:
                failures = self._state.failures_for.setdefault(to, deque())
            failures.extend([code] * count)

    def lose_next_answers(self, count: int = 1) -> None:
        """The next `count` requests are carried out, then the connection drops unanswered.

        What a client sees when the network fails after the provider accepted a text.
        """
        with self._lock:
            self._state.answers_to_lose += count

    def answer_is_lost(self) -> bool:
        with self._lock:
            if not self._state.answers_to_lose:
                return False
            self._state.answers_to_lose -= 1
            return True

    def outcome_for(self, to: str, status: str, error_code: int | None = None) -> None:
        """Texts to `to` end in `status` (e.g. undelivered with 30003) instead of delivered."""
        with self._lock:
            self._state.outcomes[to] = _Outcome(status, error_code)

    def reset(self) -> None:
        with self._lock:
            self._state = _State()
            self.latency = 0.0
            self.create_latency = None
            self.callback_statuses = DEFAULT_CALLBACK_STATUSES

    # -- what tests inspect ----------------------------------------------------------------

    @property
    def messages(self) -> list[AcceptedMessage]:
        with self._lock:
            return list(self._state.messages)

    @property
    def callbacks(self) -> list[Callback]:
        with self._lock:
            return list(self._state.callbacks)

    @property
    def requests_count(self) -> int:
        with self._lock:
            return self._state.requests_count

    @property
    def peak_requests_in_flight(self) -> int:
        """The most API requests the server was answering at one moment since the reset."""
        with self._lock:
            return self._state.peak_in_flight

    def wait_for_callbacks(self, count: int, timeout: float = 10.0) -> list[Callback]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._state.callbacks) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(self._state.callbacks)} of {count} callbacks posted")
                self._lock.wait(remaining)
            return list(self._state.callbacks)

    def send_inbound(
        self, url: str, from_: str, to: str, body: str, *, account_sid: str | None = None
    ) -> tuple[int, str]:
        """Post a signed incoming-message webhook, as Twilio does; returns (status, body)."""
        account_sid = account_sid or next(iter(self.accounts))
        sid = _new_sid("SM")
        params = {
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "AccountSid": account_sid,
            "From": from_,
            "To": to,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsStatus": "received",
            "ApiVersion": API_VERSION,
        }
        status, text = _post_signed(url, params, self.accounts[account_sid])
        return status or 0, text

    # -- the API ---------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: str, form: dict[str, str], auth: str) -> Any:
        """Answer one API request: returns (HTTP status, JSON body)."""
        with self._lock:
            state = self._state
            state.requests_count += 1
            state.in_flight += 1
            state.peak_in_flight = max(state.peak_in_flight, state.in_flight)
        try:
            return self._answer(method, path, query, form, auth)
        finally:
            with self._lock:
                state.in_flight -= 1

    def _answer(self, method: str, path: str, query: str, form: dict[str, str], auth: str) -> Any:
        latency = self.latency
        if method == "POST" and self.create_latency is not None:
            latency = self.create_latency
        if latency:
            time.sleep(latency)
        match = MESSAGES_PATH.match(path)
        if not match:
            raise TwilioApiError(404, 20404, f"The requested resource {path} was not found")
        account = self._authenticate(auth, match["account"])
        if method == "POST" and not match["sid"]:
            return HTTPStatus.CREATED, self._create(account, form).resource()
        if method == "GET" and match["sid"]:
            return HTTPStatus.OK, self._fetch(account, match["sid"]).resource()
        if method == "GET":
            return HTTPStatus.OK, self._list(account, path, urllib.parse.parse_qs(query))
        raise TwilioApiError(405, 20004, "Method not allowed")

    def _authenticate(self, header: str, account_in_path: str) -> str:
        username, password = _basic_credentials(header)
        if not username or self.accounts.get(username) != password:
            raise TwilioApiError(401, 20003, "Authenticate")
        if username != account_in_path:
            raise TwilioApiError(403, 20003, "Authenticate: the account does not match")
        return username

    def _create(self, account: str, form: dict[str, str]) -> AcceptedMessage:
        _validate_create(form)
        with self._lock:
            failures = self._state.failures_for.get(form["To"]) or self._state.failures
            if failures:
                http_status, code, text = INJECTABLE_ERRORS[failures.popleft()]
                raise TwilioApiError(http_status, code, text.format(to=form["To"]))
            message = AcceptedMessage(
                sid=_new_sid("SM"),
                account_sid=account,
                form=form,
                created_at=datetime.now(UTC),
                segments=_segments(form.get("Body", "")),
            )
            self._state.messages.append(message)
            self._state.by_sid[message.sid] = message
            self._state.by_to.setdefault(message.to, []).append(message)
        for status in self._statuses_for(message):
            self._callbacks.put((message, status))
        return message

    def _statuses_for(self, message: AcceptedMessage) -> Iterable[str]:
        with self._lock:
            outcome = self._state.outcomes.get(message.to)
            statuses = list(self.callback_statuses)
        if outcome is not None:
            statuses = [status for status in statuses if status not in ("delivered",)]
            statuses = [*statuses[:1], outcome.status]
            message.error_code = outcome.error_code
        return statuses

    def _fetch(self, account: str, sid: str) -> AcceptedMessage:
        with self._lock:
            message = self._state.by_sid.get(sid)
        if message is None or message.account_sid != account:
            raise TwilioApiError(404, 20404, f"The requested resource {sid} was not found")
        return message

    def _list(self, account: str, path: str, query: dict[str, list[str]]) -> dict[str, Any]:
        def first(name: str) -> str | None:
            return query.get(name, [None])[0]

        with self._lock:
            to = first("To")
            candidates = self._state.by_to.get(to, []) if to else self._state.messages
            found = [m for m in candidates if m.account_sid == account]
        found = [m for m in reversed(found) if _matches(m, first)]
        page_size = max(1, min(int(first("PageSize") or 50), 1000))
        page = int(first("Page") or 0)
        start = page * page_size
        items = found[start : start + page_size]

        def page_uri(number: int) -> str:
            params = {k: v[0] for k, v in query.items() if k not in ("Page", "PageToken")}
            params.update({"Page": str(number), "PageSize": str(page_size)})
            return f"{path}?{urllib.parse.urlencode(params)}"

        has_next = start + page_size < len(found)
        return {
            "messages": [message.resource() for message in items],
            "page": page,
            "page_size": page_size,
            "start": start,
            "end": start + max(len(items) - 1, 0),
            "uri": page_uri(page),
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1) if has_next else None,
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
        }

    # -- status callbacks ------------------------------------------------------------------

    def _post_callbacks(self) -> None:
        while (item := self._callbacks.get()) is not None:
            message, status = item
            message.status = status
            url = message.form.get("StatusCallback")
            if not url:
                continue
            params = {
                "MessageSid": message.sid,
                "SmsSid": message.sid,
                "SmsStatus": status,
                "MessageStatus": status,
                "AccountSid": message.account_sid,
                "To": message.to,
                "From": message.form.get("From") or message.form.get("MessagingServiceSid", ""),
                "ApiVersion": API_VERSION,
            }
            if status in FAILED_STATUSES and message.error_code:
                params["ErrorCode"] = str(message.error_code)
            self._record(self._deliver(url, params, message.account_sid))

    def _deliver(self, url: str, params: dict[str, str], account_sid: str) -> Callback:
        if urllib.parse.urlsplit(url).hostname not in LOOPBACK_HOSTS:
            # The server never calls out of this machine: the attempt is recorded, not made.
            return Callback(url, params, None, "not posted: not a loopback address")
        status, text = _post_signed(url, params, self.accounts[account_sid])
        return Callback(url, params, status, "" if status else text)

    def _record(self, callback: Callback) -> None:
        with self._lock:
            self._state.callbacks.append(callback)
            self._lock.notify_all()


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    twilio: TwilioServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's pooled session expects
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm holds the
    # body until the client's delayed ACK, adding 40 ms to every answer on a kept-alive socket.
    disable_nagle_algorithm = True
    server: _HttpServer

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str) -> None:
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        form = dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))
        try:
            status, body = self.server.twilio.handle(
                method, path, query, form, self.headers.get("Authorization", "")
            )
        except TwilioApiError as error:
            status, body = error.status, error.body()
        if self.server.twilio.answer_is_lost():
            self.close_connection = True
            return
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.twilio.verbose:
            super().log_message(format, *args)


def _validate_create(form: dict[str, str]) -> None:
    to = form.get("To", "")
    if not to:
        raise TwilioApiError(400, 21604, "A 'To' phone number is required.")
    if not (form.get("From") or form.get("MessagingServiceSid")):
        raise TwilioApiError(400, 21603, "A 'From' phone number is required.")
    if not form.get("Body") and not form.get("MediaUrl"):
        raise TwilioApiError(400, 21602, "Message body is required.")
    if not E164.match(to):
        raise TwilioApiError(400, 21211, f"The 'To' number {to} is not a valid phone number.")


def _matches(message: AcceptedMessage, first: Any) -> bool:
    if first("To") and message.to != first("To"):
        return False
    if first("From") and message.form.get("From") != first("From"):
        return False
    for name, check in (
        ("DateSent", lambda sent, bound: sent.date() == bound.date()),
        ("DateSent>", lambda sent, bound: sent >= bound),
        ("DateSent<", lambda sent, bound: sent <= bound),
    ):
        if first(name) and not check(message.created_at, _parse_date(first(name))):
            return False
    return True


def _parse_date(value: str) -> datetime:
    for pattern in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise TwilioApiError(400, 20001, f"Invalid date: {value}")


def _basic_credentials(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        username, _, password = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        return "", ""
    return username, password


def _post_signed(url: str, params: dict[str, str], auth_token: str) -> tuple[int | None, str]:
    signature = RequestValidator(auth_token).compute_signature(url, params)
    request = urllib.request.Request(  # noqa: S310 - loopback URLs only
        url,
        data=urllib.parse.urlencode(params).encode(),
        headers={
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError as error:
        return None, str(error)


def _new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _rfc2822(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


def _segments(body: str) -> int:
    """How many parts Twilio bills for `body`, by the plugin's own GSM 03.38 counting."""
    return max(count_segments(body).segments, 1)
