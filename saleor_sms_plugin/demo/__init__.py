"""`python -m saleor_sms_plugin demo`: a few shoppers, weeks of texts, in well under a minute.

Three shoppers in two countries (New York, Los Angeles, Warsaw) order, get their confirmations
and offers, tap an offer's link and buy, receive their parcels, are asked for a review, get
win-back texts a week after their last purchase and then every two weeks, and one of them
replies STOP. Texts wait for the morning where they would arrive at night, and one is refused
by the provider and sent again. The demo prints it all as a timeline per shopper, a summary per
flow from the plugin's statistics, and writes each channel's statistics page to a file.

It runs on the same pipeline as a store: the plugin's tables in PostgreSQL (a database of the
demo's own, `SMS_DEMO_DATABASE_NAME`, `saleor_sms_demo` by default, recreated on every run),
orders recorded in the event inbox as the Saleor plugin records them, the scheduling rules, a
Celery worker process on Redis (`CELERY_BROKER_URL`) running the plugin's tasks, the Twilio SDK
talking to the bundled Twilio-compatible server, signed status callbacks and replies to the
plugin's routes, offer links served by the link server, and checkouts made by the in-memory
checkout gateway (no Saleor runs here).

Simulated time. The clock jumps from one moment to the next (see `simulation`), and every
process of the demo reads the simulated time: `clock.install()` makes `django.utils.timezone.now`
answer it in the demo process (with its web routes) and in its worker, which takes the time from
a header on each task (see `clock`). A `now` argument on the dispatch task alone would not
do: the core reads the time wherever a store's event happens (the click on a link, its expiry,
a delivery report, a STOP, a shipment's text, a conversion) and through `auto_now` columns, so
the figures would mix two timelines. The core runs unchanged; only the demo's processes
install the clock.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

DEFAULT_OUTPUT = "demo-output"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="saleor-sms demo")
    add_arguments(parser)
    return run_command(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output",
        default=DEFAULT_OUTPUT,
        help=f"folder for the statistics pages (default: ./{DEFAULT_OUTPUT})",
    )


def run_command(arguments: argparse.Namespace) -> int:
    try:
        run(Path(arguments.output), sys.stdout)
    except RuntimeError as error:
        print(f"The demo stopped: {error}", file=sys.stderr)
        return 1
    return 0


def run(output: Path, out: TextIO) -> None:
    """Play the story on a fresh database and print what happened."""
    started = time.monotonic()
    from . import pipeline

    database = pipeline.database_name()
    os.environ["SMS_DATABASE_NAME"] = database
    os.environ["DJANGO_SETTINGS_MODULE"] = "saleor_sms_plugin.standalone_settings"
    os.environ.setdefault("CELERY_BROKER_URL", pipeline.DEFAULT_BROKER)
    os.environ["SALEOR_SMS_DEMO_QUEUE"] = pipeline.new_queue_name()
    pipeline.require_broker()  # each raises RuntimeError, saying what is missing
    pipeline.recreate_database(database)
    import django

    django.setup()
    from django.core.management import call_command

    from . import clock

    clock.install()
    call_command("migrate", verbosity=0)
    _play(database, output, out, started)


def _play(database: str, output: Path, out: TextIO, started: float) -> None:
    from django.core.wsgi import get_wsgi_application

    from ..link_server import wsgi_application as links
    from ..testing import TwilioServer
    from . import pipeline, report, shoppers, simulation, store
    from .timeline import Record

    with (
        TwilioServer(accounts={store.ACCOUNT_SID: store.AUTH_TOKEN}) as twilio,
        pipeline.serve(get_wsgi_application()) as routes,
        pipeline.serve(links) as link_host,
    ):
        store.stock()
        store.configure(routes, link_host)
        first_day = story_start(date.today())
        sending = {
            "SALEOR_SMS_BACKEND": "saleor_sms_plugin.backends.twilio.TwilioBackend",
            "SALEOR_SMS_TWILIO_API_URL": twilio.base_url,
        }
        with pipeline.worker(sending):
            report.print_header(database, first_day, twilio.base_url, routes, link_host, out)
            world = shoppers.World(twilio, routes, Record())
            last = simulation.play(world, shoppers.script(first_day))
        report.print_timeline(world, out)
        report.summary(first_day, last, out)
        pages = report.statistics_pages(routes, output, first_day, last)
        report.closing(twilio, pages, first_day, last, time.monotonic() - started, out)


def story_start(today: date) -> date:
    """The Monday four weeks before `today`: the story ends in the week before."""
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(weeks=4)
