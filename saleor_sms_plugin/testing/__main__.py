"""`python -m saleor_sms_plugin.testing --account AC...:token`: run the server in the foreground."""

from __future__ import annotations

import argparse
import time

from .server import TwilioServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A Twilio-compatible Messages API on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument(
        "--account", action="append", required=True, help="ACCOUNT_SID:AUTH_TOKEN (repeatable)"
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per API request")
    arguments = parser.parse_args(argv)
    accounts = dict(account.split(":", 1) for account in arguments.account)
    server = TwilioServer(
        accounts, host=arguments.host, port=arguments.port, latency=arguments.latency, verbose=True
    )
    with server:
        print(f"Twilio-compatible server at {server.base_url} (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
