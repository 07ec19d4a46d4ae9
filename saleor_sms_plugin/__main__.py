"""Command line: `python -m saleor_sms_plugin demo` (also installed as `saleor-sms demo`)."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="saleor-sms")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "demo", help="run sample orders through the whole pipeline and print the texts"
    )
    arguments = parser.parse_args(argv)
    if arguments.command == "demo":
        from .demo import main as demo

        return demo()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
