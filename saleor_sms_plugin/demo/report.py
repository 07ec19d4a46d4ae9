"""What the demo prints at the end, and the statistics pages it leaves behind."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TextIO

import phonenumbers
import requests

from .. import auth, conf, stats
from ..conf import get_channel_settings
from ..stats_page import PERIODS
from ..testing import TwilioServer
from . import pipeline, shoppers, store, timeline


def print_header(
    database: str, first_day: date, twilio_url: str, routes: str, link_host: str, out: TextIO
) -> None:
    print(
        f"{len(shoppers.SHOPPERS)} shoppers, {len(store.CHANNELS)} channels, from "
        f"{first_day:%a %d %b %Y} on, on the real pipeline:\n"
        f"  database  PostgreSQL {database} (recreated)\n"
        f"  worker    Celery on {pipeline.broker_url()}\n"
        f"  provider  the Twilio SDK, to the Twilio-compatible server {twilio_url}\n"
        f"  routes    {routes} (signed callbacks and replies), offer links {link_host}",
        file=out,
    )


def print_timeline(world: shoppers.World, out: TextIO) -> None:
    from ..models import Message

    # Texts of an order, and the opt-in confirmation of its number, carry the customer's reference:
    # a guest's email.
    shopper_of = {shopper.email: shopper.key for shopper in shoppers.SHOPPERS}
    texts: dict[str, list[Message]] = {}
    for message in Message.objects.order_by("pk"):
        texts.setdefault(shopper_of.get(message.customer_ref, ""), []).append(message)
    channels = {channel.slug: get_channel_settings(channel.slug) for channel in store.CHANNELS}
    timeline.print_timeline(
        [_person(shopper) for shopper in shoppers.SHOPPERS], texts, world.record, channels, out
    )


def _person(shopper: shoppers.Shopper) -> timeline.Person:
    phone = phonenumbers.format_number(
        phonenumbers.parse(shopper.e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    heading = (
        f"{shopper.name}, {phone}, {shopper.city} ({shopper.time_zone}), "
        f"texts in {timeline.language_name(shopper.language)}, channel {shopper.channel.slug}"
    )
    return timeline.Person(shopper.key, heading, shopper.zone)


def summary(first_day: date, last: datetime, out: TextIO) -> None:
    """The plugin's own figures for the story's days: per flow, and in total."""
    period = stats.Period(first_day, last.astimezone(UTC).date(), UTC)
    rows = stats.collect(period)
    timeline.print_summary(stats.summarize(rows, [stats.Dimension.FLOW]), stats.totals(rows), out)


def statistics_pages(routes: str, output: Path, first_day: date, last: datetime) -> list[Path]:
    """Each channel's statistics page as staff see it, saved as a file of its own, over the
    shortest period the page offers that holds the whole story."""
    story_days = (last.astimezone(UTC).date() - first_day).days + 1
    days = min((days for days in PERIODS if days >= story_days), default=max(PERIODS))
    output.mkdir(parents=True, exist_ok=True)
    token = auth.issue_token(
        auth.ViewerKind.STAFF,
        "demo-staff",
        permissions=[auth.Permission.MANAGE_ORDERS],
        email="staff@example.com",
    )
    pages = []
    for channel in store.CHANNELS:
        url = conf.channel_route_url(routes, channel.slug, conf.STATS_PATH)
        page = requests.get(
            url,
            params={"days": str(days), "channel": channel.slug},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        if page.status_code != 200:
            raise RuntimeError(f"the statistics page of {channel.slug} answered {page.status_code}")
        path = output / f"stats-{channel.slug}.html"
        path.write_text(page.text, encoding="utf-8")
        pages.append(path)
    return pages


def closing(
    twilio: TwilioServer,
    pages: list[Path],
    first_day: date,
    last: datetime,
    seconds: float,
    out: TextIO,
) -> None:
    callbacks = twilio.callbacks
    accepted = sum(1 for callback in callbacks if callback.response_status == 204)
    weeks = (last.date() - first_day).days / 7
    print(
        f"\n{len(twilio.messages)} texts reached the Twilio-compatible server; "
        f"{accepted} of its {len(callbacks)} signed delivery reports were accepted by the plugin.",
        file=out,
    )
    print("Statistics pages (open in a browser):", file=out)
    for path in pages:
        print(f"  {path.resolve().as_uri()}", file=out)
    print(f"{weeks:.1f} weeks played in {seconds:.1f} s.", file=out)
