"""Print the GraphQL schema (SDL), or write it to schema.graphql with --write."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Print the SMS plugin's GraphQL schema in SDL; --write updates schema.graphql."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--write",
            action="store_true",
            help="Write the repository's schema.graphql instead of printing.",
        )

    def handle(self, *args: Any, write: bool = False, **options: Any) -> None:
        from saleor_sms_plugin.graphql.schema import SDL_PATH, print_sdl

        sdl = print_sdl()
        if write:
            SDL_PATH.write_text(sdl, encoding="utf-8")
            self.stdout.write(f"Wrote {SDL_PATH}")
        else:
            self.stdout.write(sdl, ending="")
