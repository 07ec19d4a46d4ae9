"""The HTTP transport under the Twilio SDK: a pool of kept-alive connections, thread-safe.

The SDK builds every request (URL, form fields, Basic auth, headers) and parses every answer
(JSON, error codes); this client only carries them, with the standard library's http.client.
Per request it costs about a third of the CPU of the SDK's requests-based client (0.5 ms
against 1.7 ms on a 2-core machine, bench/README.md), and CPU is what bounds how many texts
one worker process sends while it waits on the provider with many requests in flight.

It tells apart the two ways a request can fail, which decide whether a text may be sent again:
`NotSent` (no connection was made: nothing reached the provider) and `NoAnswer` (the request
may have been carried out, but no answer came back).

Production leaves the base URL unset and talks to api.twilio.com. The demo and the test suite
set it to the bundled Twilio-compatible server, so requests still go through the real SDK.
"""

from __future__ import annotations

import base64
import functools
import http.client
import json
import logging
import select
import ssl
import threading
from urllib.parse import urlencode, urlsplit
from urllib.request import getproxies, proxy_bypass

from twilio.http import HttpClient
from twilio.http.response import Response

TWILIO_API = "https://api.twilio.com"
JSON_TYPES = ("application/json", "application/scim+json")
DEFAULT_TIMEOUT = 30.0

logger = logging.getLogger("twilio.http_client")


class NotSent(OSError):
    """No connection to the provider could be made: the request never left this machine."""


class NoAnswer(OSError):
    """The request was sent, or may have been, but no complete answer came back."""


class BaseUrlHttpClient(HttpClient):
    """Each request borrows an idle connection to its host (or opens one) and gives it back.

    Up to `pool_size` idle connections per host are kept between batches, so a dispatcher
    sending `pool_size` texts at once opens its connections (and TLS sessions) once.
    """

    def __init__(
        self,
        base_url: str | None = None,
        pool_size: int = 64,
        timeout: float | None = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(logger, is_async=False, timeout=timeout)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.pool_size = pool_size
        self._idle: dict[tuple[str, str], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._proxy = urlsplit(proxy) if (proxy := getproxies().get("https")) else None

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,  # the Twilio API does not redirect
    ) -> Response:
        if timeout is None:
            timeout = self.timeout
        elif timeout <= 0:
            raise ValueError(timeout)
        if self.base_url and url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        if params:
            url += ("&" if "?" in url else "?") + urlencode(_present(params), doseq=True)
        headers = dict(headers or {})
        body = _encode_body(method, data, headers)
        if auth is not None:
            credentials = base64.b64encode("{}:{}".format(*auth).encode()).decode("ascii")
            headers["Authorization"] = f"Basic {credentials}"
        if self.logger.isEnabledFor(logging.INFO):
            self.log_request({"method": method, "url": url, "params": None, "headers": headers})
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        connection = self._borrow(key, timeout)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request(method.upper(), target, body=body, headers=headers)
            answer = connection.getresponse()
            payload = answer.read()
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            raise NoAnswer(f"{method.upper()} {parts.netloc}{parts.path}: {error!r}") from error
        if answer.will_close:
            connection.close()
        else:
            self._give_back(key, connection)
        response = Response(answer.status, payload.decode("utf-8"), dict(answer.getheaders()))
        self._test_only_last_response = response
        return response

    def _borrow(self, key: tuple[str, str], timeout: float | None) -> http.client.HTTPConnection:
        """An idle connection to the host that is still open, or a new one, connected."""
        while True:
            with self._lock:
                idle = self._idle.get(key)
                connection = idle.pop() if idle else None
            if connection is None:
                break
            if not _dropped(connection):
                connection.timeout = timeout
                if connection.sock is not None:
                    connection.sock.settimeout(timeout)
                return connection
            connection.close()
        connection = self._new_connection(*key, timeout)
        try:
            connection.connect()
        except OSError as error:
            connection.close()
            raise NotSent(f"cannot connect to {key[1]}: {error}") from error
        return connection

    def _give_back(self, key: tuple[str, str], connection: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.pool_size:
                idle.append(connection)
                return
        connection.close()

    def _new_connection(
        self, scheme: str, netloc: str, timeout: float | None
    ) -> http.client.HTTPConnection:
        if scheme == "http":
            return http.client.HTTPConnection(netloc, timeout=timeout)
        host = netloc.rsplit(":", 1)[0]
        if self._proxy is not None and not proxy_bypass(host):
            connection = http.client.HTTPSConnection(
                self._proxy.netloc, timeout=timeout, context=_tls_context()
            )
            connection.set_tunnel(netloc)
            return connection
        return http.client.HTTPSConnection(netloc, timeout=timeout, context=_tls_context())


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # One per process: loading the system's certificates costs about a megabyte each time.
    return ssl.create_default_context()


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """An idle kept-alive socket that is readable was closed by the server (or is broken)."""
    if connection.sock is None:
        return True
    poll = select.poll()
    poll.register(connection.sock, select.POLLIN)
    return bool(poll.poll(0))


def _present(values: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in values.items() if value is not None}


def _encode_body(
    method: str, data: dict[str, object] | None, headers: dict[str, str]
) -> bytes | None:
    if data is None:
        return None
    if headers.get("Content-Type", "") in JSON_TYPES:
        return json.dumps(data).encode("utf-8")
    if not data and method.upper() in ("GET", "DELETE"):
        return None
    headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    return urlencode(_present(data), doseq=True).encode("utf-8")
