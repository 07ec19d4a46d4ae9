"""The HTTP transport under the Twilio SDK: kept-alive connections, and what may be resent."""

from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from saleor_sms_plugin.backends.twilio_http import BaseUrlHttpClient, NoAnswer, NotSent

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "secret-token"
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class RawServer:
    """Loopback HTTP/1.1 server whose every connection runs `serve(connection)`."""

    def __init__(self, serve: Callable[[socket.socket], None]) -> None:
        self.serve = serve
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.requests: list[bytes] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.serve, args=(connection,), daemon=True).start()

    def read_request(self, connection: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                return b""
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(body) < length:
            body += connection.recv(65536)
        self.requests.append(head + b"\r\n\r\n" + body)
        return data

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[RawServer, socket.socket], None]], RawServer]]:
    servers: list[RawServer] = []

    def start(serve: Callable[[RawServer, socket.socket], None]) -> RawServer:
        server = RawServer(lambda connection: serve(server, connection))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def keep_alive(server: RawServer, connection: socket.socket) -> None:
    with connection:
        while server.read_request(connection):
            connection.sendall(ANSWER)


def answer_once_then_hang_up(server: RawServer, connection: socket.socket) -> None:
    with connection:
        if server.read_request(connection):
            connection.sendall(ANSWER)  # keep-alive promised, then the idle socket is closed


def hang_up_without_answer(server: RawServer, connection: socket.socket) -> None:
    with connection:
        server.read_request(connection)


def client_for(server: RawServer, **kwargs: object) -> BaseUrlHttpClient:
    return BaseUrlHttpClient(base_url=f"http://127.0.0.1:{server.port}", **kwargs)  # type: ignore[arg-type]


def test_requests_reuse_kept_alive_connections_across_threads_and_batches(raw_server):
    server = raw_server(keep_alive)
    http = client_for(server, pool_size=8)

    for _ in range(3):  # three batches, each with its own threads
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(
                pool.map(lambda _: http.request("GET", "https://api.twilio.com/x"), range(40))
            )
        assert {answer.status_code for answer in answers} == {200}

    assert len(server.requests) == 120
    assert server.connections <= 8


def test_a_connection_the_server_closed_while_idle_is_replaced_not_reported(raw_server):
    server = raw_server(answer_once_then_hang_up)
    http = client_for(server)

    first = http.request("GET", "https://api.twilio.com/a")
    threading.Event().wait(0.05)  # the server hangs up on the idle connection
    second = http.request("GET", "https://api.twilio.com/b")

    assert (first.status_code, second.status_code) == (200, 200)
    assert server.connections == 2


def test_the_sdk_request_arrives_with_basic_auth_form_fields_and_query(raw_server):
    server = raw_server(keep_alive)
    http = client_for(server)

    http.request(
        "POST",
        "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
        params={"PageSize": 2, "Skipped": None},
        data={"To": "+48600000001", "Body": "Zażółć & co", "Unset": None},
        headers={"User-Agent": "twilio-python"},
        auth=(ACCOUNT_SID, AUTH_TOKEN),
    )

    [request] = server.requests
    head, _, body = request.partition(b"\r\n\r\n")
    assert head.startswith(b"POST /2010-04-01/Accounts/AC1/Messages.json?PageSize=2 HTTP/1.1")
    credentials = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode())
    assert b"Authorization: Basic " + credentials in head
    assert b"Content-Type: application/x-www-form-urlencoded" in head
    assert body == b"To=%2B48600000001&Body=Za%C5%BC%C3%B3%C5%82%C4%87+%26+co"


def test_a_refused_connection_is_not_sent(raw_server):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        http = BaseUrlHttpClient(base_url=f"http://127.0.0.1:{closed.getsockname()[1]}")

        with pytest.raises(NotSent):
            http.request("GET", "https://api.twilio.com/x")


def test_a_request_without_an_answer_may_have_been_carried_out(raw_server):
    server = raw_server(hang_up_without_answer)

    with pytest.raises(NoAnswer):
        client_for(server).request("POST", "https://api.twilio.com/x", data={"To": "+1"})
    assert len(server.requests) == 1


def test_a_slow_answer_times_out_as_no_answer(raw_server):
    def answer_late(server: RawServer, connection: socket.socket) -> None:
        with connection:
            server.read_request(connection)
            threading.Event().wait(2)

    server = raw_server(answer_late)

    with pytest.raises(NoAnswer):
        client_for(server, timeout=0.2).request("GET", "https://api.twilio.com/x")


def test_sending_threads_starting_together_share_one_client_per_account(monkeypatch):
    from saleor_sms_plugin.backends import twilio

    made = []
    slow_to_make = twilio.BaseUrlHttpClient

    def client_made_slowly(**kwargs):  # as when certificates are loaded: the race widens
        threading.Event().wait(0.05)
        made.append(kwargs)
        return slow_to_make(**kwargs)

    monkeypatch.setattr(twilio, "BaseUrlHttpClient", client_made_slowly)
    account = ("AC" + "7" * 32, "token-7", "http://127.0.0.1:9", 64, 30.0)
    start = threading.Barrier(32)

    def first_send_asks_for_the_client(_: int) -> int:
        start.wait()
        return id(twilio._client(*account))

    with ThreadPoolExecutor(max_workers=32) as pool:
        clients = set(pool.map(first_send_asks_for_the_client, range(32)))

    assert len(clients) == 1
    assert len(made) == 1
