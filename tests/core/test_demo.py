"""`make demo`: shoppers played through weeks of texts on the whole pipeline, as printed.

The demo runs as a newcomer runs it, in a process of its own, on its own database, on Redis
with its own Celery worker, twice (the second run starts over on a recreated database). The
tests read its timeline and the statistics pages it leaves behind.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ..conftest import ROOT, _redis_db

pytestmark = pytest.mark.worker

ENTRY = re.compile(r"^  (?P<when>\w{3} \d{2} \w{3} \d{2}:\d{2}(?::\d{2})?)\s+(?P<what>.*)$")
STARTS = re.compile(r"from \w{3} \d{2} \w{3} (?P<year>\d{4}) on")


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    output: Path

    @property
    def year(self) -> int:
        found = STARTS.search(self.stdout)
        assert found, self.stdout[:500]
        return int(found["year"])


@dataclass(frozen=True)
class Entry:
    """One line of a shopper's timeline, with the lines that belong to it."""

    at: datetime
    what: str
    details: str


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Run]:
    test_database = os.environ.get("SMS_TEST_DATABASE_NAME", "test_saleor_sms_plugin")
    redis = f"redis://127.0.0.1:6379/{_redis_db()}"
    env = {
        **os.environ,
        "SMS_DEMO_DATABASE_NAME": f"{test_database}_demo",
        "CELERY_BROKER_URL": redis,
        "SMS_CACHE_URL": redis,
    }
    played = []
    for _ in range(2):
        output = tmp_path_factory.mktemp("demo-output")
        result = subprocess.run(
            [sys.executable, "-m", "saleor_sms_plugin", "demo", "--output", str(output)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        played.append(Run(result.returncode, result.stdout, result.stderr, output))
    return played


@pytest.fixture(scope="module")
def demo(runs: list[Run]) -> Run:
    run = runs[-1]
    assert run.returncode == 0, run.stderr
    return run


def timeline(run: Run, name: str) -> list[Entry]:
    """The entries under a shopper's heading, with their simulated (local) times."""
    block = run.stdout.split(f"\n{name}, ", 1)[1].split("\n\n", 1)[0]
    entries: list[Entry] = []
    for line in block.splitlines()[1:]:
        found = ENTRY.match(line)
        if found:
            entries.append(Entry(_moment(found["when"], run.year), found["what"], ""))
        elif entries:
            last = entries[-1]
            # Wrapped lines joined again: what the entry says, as one text.
            entries[-1] = Entry(last.at, last.what, f"{last.details} {line.strip()}".strip())
    return entries


def _moment(text: str, year: int) -> datetime:
    return datetime.strptime(
        f"{year} {text[4:]}", "%Y %d %b %H:%M" + (":%S" if len(text) > 16 else "")
    )


def entries_of(run: Run, name: str, starting: str) -> list[Entry]:
    return [entry for entry in timeline(run, name) if entry.what.startswith(starting)]


def only(entries: list[Entry]) -> Entry:
    assert len(entries) == 1, entries
    return entries[0]


def test_the_demo_runs_again_on_its_recreated_database(runs):
    assert [run.returncode for run in runs] == [0, 0], runs[-1].stderr
    reached = [re.findall(r"(\d+) texts reached", run.stdout) for run in runs]
    assert reached[0] == reached[1] == ["28"]
    assert "(recreated)" in runs[-1].stdout


def test_shoppers_in_two_countries_get_texts_in_their_languages(demo):
    assert "Ada Lovelace, +1 201-555-0123, New York" in demo.stdout
    assert "Zofia Nowak, +48 600 100 200, Warszawa (Europe/Warsaw), texts in Polish" in demo.stdout
    assert "Miguel Torres, +1 415-555-0134, Los Angeles" in demo.stdout
    confirmation = entries_of(demo, "Zofia Nowak", "order confirmation")[0]
    assert re.match(r"order confirmation\s+pl\s+\d seg\s+delivered", confirmation.what)
    assert "Zamówienie" in confirmation.details


def test_an_order_gets_its_confirmation_and_a_thank_you(demo):
    ordered = only(entries_of(demo, "Ada Lovelace", ">> orders"))
    confirmation = entries_of(demo, "Ada Lovelace", "order confirmation")[0]
    thanks = entries_of(demo, "Ada Lovelace", "thank you")[0]

    assert confirmation.at == ordered.at
    assert "delivered" in confirmation.what
    assert thanks.at == ordered.at + timedelta(hours=1)
    assert "thank you for shopping with us" in thanks.details


def test_three_offers_go_out_within_a_day_of_the_order(demo):
    ordered = only(entries_of(demo, "Zofia Nowak", ">> orders"))
    offers = entries_of(demo, "Zofia Nowak", "post purchase offer")

    assert [entry.what.split()[3] for entry in offers] == ["1", "2", "3"]
    assert all("delivered" in entry.what for entry in offers)
    assert all(ordered.at < entry.at < ordered.at + timedelta(hours=24) for entry in offers)


def test_quiet_hours_hold_a_text_overnight_in_the_shoppers_time_zone(demo):
    offer = entries_of(demo, "Zofia Nowak", "post purchase offer 2")[0]

    assert offer.at.hour == 9
    assert "held until" in offer.details
    assert "quiet hours (texts 09:00-20:00 in the shopper's time zone)" in offer.details


def test_a_tap_on_an_offer_link_opens_a_filled_in_checkout_with_the_voucher(demo):
    tap = only(entries_of(demo, "Ada Lovelace", ">> taps the link in offer 2"))

    text = f"{tap.what} {tap.details}"
    assert "https://shop.example.com/default-channel/en/checkout?checkout=" in text
    assert "Merino socks 19.00, code SOCKS20 -3.80, total 15.20 USD" in text
    assert "ada@example.com, ship to 12 Bleecker Street, New York" in text


def test_the_purchase_through_the_offer_counts_and_stops_the_remaining_offer(demo):
    paid = only(entries_of(demo, "Ada Lovelace", ">> pays"))
    offer = entries_of(demo, "Ada Lovelace", "post purchase offer 2")[0]
    last_offer = only(entries_of(demo, "Ada Lovelace", "post purchase offer 3"))

    assert "delivered, clicked, bought 15.20 USD" in offer.what
    assert last_offer.at == paid.at
    assert "cancelled: the shopper bought through an offer" in last_offer.what
    assert not [entry for entry in timeline(demo, "Ada Lovelace") if "offer 4" in entry.what]


def test_a_shipment_is_texted_with_its_tracking_link(demo):
    shipped = only(entries_of(demo, "Ada Lovelace", ">> order 1001 ships"))
    text = only(entries_of(demo, "Ada Lovelace", "shipping confirmation"))

    assert text.at == shipped.at
    assert "https://track.example.com/1Z999AA10123456784" in text.details


def test_a_review_is_asked_for_a_week_after_shipping(demo):
    shipped = only(entries_of(demo, "Ada Lovelace", ">> order 1001 ships"))
    review = only(entries_of(demo, "Ada Lovelace", "review request"))

    assert review.at == shipped.at + timedelta(days=7)
    assert "delivered" in review.what
    assert "Reply with 1-5 stars" in review.details


def test_win_back_texts_come_a_week_after_the_last_purchase_then_two_weeks_apart(demo):
    paid = only(entries_of(demo, "Ada Lovelace", ">> pays"))
    sent = [e for e in entries_of(demo, "Ada Lovelace", "win back") if "delivered" in e.what]

    assert [entry.at - paid.at for entry in sent] == [timedelta(days=7), timedelta(days=21)]
    assert "COMEBACK10" in sent[0].details


def test_a_stop_reply_ends_every_pending_marketing_text(demo):
    stop = only(entries_of(demo, "Zofia Nowak", '>> replies "STOP"'))
    after = [entry for entry in timeline(demo, "Zofia Nowak") if entry.at >= stop.at][1:]

    assert "signed inbound route: 200" in stop.what
    assert {entry.what.split("  ")[0].strip() for entry in after} == {
        "review request",
        "win back 2",
    }
    assert all("cancelled: the shopper replied STOP" in entry.what for entry in after)


def test_a_text_refused_by_the_provider_is_sent_again(demo):
    offer = entries_of(demo, "Miguel Torres", "post purchase offer 1")[0]

    assert "refused by the provider at 17:40" in offer.details
    assert "Too Many Requests" in offer.details
    assert "sent again 30 s later" in offer.details
    assert offer.at.second == 30
    assert "delivered" in offer.what


def test_the_summary_counts_each_flow_from_sent_to_revenue(demo):
    summary = demo.stdout.split("\nPer flow", 1)[1]

    assert re.search(r"\npost purchase offer\s+8\s+8\s+1\s+1\s+15\.20 USD\s+\d+\.\d\d USD", summary)
    assert re.search(r"\nwin back\s+5\s+5\s+0\s+0\s+-", summary)
    assert re.search(r"\nall flows\s+28\s+28\s+1\s+1\s+15\.20 USD", summary)


def test_each_channels_statistics_page_is_left_with_its_charts(demo):
    us = (demo.output / "stats-default-channel.html").read_text("utf-8")
    pl = (demo.output / "stats-channel-pln.html").read_text("utf-8")

    assert str(demo.output / "stats-default-channel.html") in demo.stdout
    assert us.count('class="funnel-chart"') == 7
    assert "15.20 USD" in us
    assert re.search(r'class="daily-chart".*<rect class="delivered"', us, re.S)
    assert pl.count('class="funnel-chart"') == 6
    assert "default-channel</td>" not in pl
    assert "Opt-outs<b>1</b>" in pl  # Zofia's STOP
