"""Command line: `python -m saleor_sms_plugin demo` (also installed as `saleor-sms demo`)."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    from . import demo

    parser = argparse.ArgumentParser(prog="saleor-sms")
    commands = parser.add_subparsers(dest="command", required=True)
    demo.add_arguments(
        commands.add_parser(
            "demo", help="play shoppers through weeks of texts on the whole pipeline"
        )
    )
    arguments = parser.parse_args(argv)
    if arguments.command == "demo":
        return demo.run_command(arguments)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
