"""The Twilio SDK's HTTP client, pointed at another base URL when one is configured.

Production leaves the base URL unset and talks to api.twilio.com. The demo and the test suite
set it to the bundled Twilio-compatible server, so requests still go through the real SDK.
"""

from __future__ import annotations

from typing import Any

from requests.adapters import HTTPAdapter
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

TWILIO_API = "https://api.twilio.com"


class BaseUrlHttpClient(TwilioHttpClient):
    """A keep-alive client with a connection pool sized for concurrent sends."""

    def __init__(self, base_url: str | None = None, pool_size: int = 64, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/") if base_url else None
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
        if self.session is not None:
            self.session.mount("https://", adapter)
            self.session.mount("http://", adapter)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if self.base_url and url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)
