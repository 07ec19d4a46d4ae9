"""What the demo saw, and how it prints it: a timeline per shopper and a summary per flow.

The simulation writes down the shoppers' actions (`Record.note`) and, after each moment, the
state of every text (`Record.see`): a text's row keeps only its latest state, so the moments
in between (held by quiet hours, refused and retried) are known from these observations.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from typing import TYPE_CHECKING, TextIO
from zoneinfo import ZoneInfo

from babel import Locale
from django.utils import timezone

from ..constants import Status
from ..flows import AWAITING_CONFIRMATION, DEFERRED, Timings
from ..quiet_hours import is_open
from ..stats import COST_CURRENCY

if TYPE_CHECKING:
    from ..conf import ChannelSettings
    from ..models import Message
    from ..stats import Figures, Row

WIDTH = 104
TIME, FLOW = 20, 24  # column widths
INDENT = " " * (2 + TIME)
TEXT_INDENT = INDENT + "| "
REASONS = {
    "converted": "the shopper bought through an offer",
    "new_order": "the shopper ordered again",
    "opted_out": "the shopper replied STOP",
    "no_phone": "no phone number",
    "no_consent": "no consent to marketing texts",
    "window_passed": "its window passed",
}


@dataclass(frozen=True)
class Event:
    at: datetime
    shopper: str
    text: str


@dataclass(frozen=True)
class State:
    """A text's row as seen at one moment of the simulation."""

    at: datetime
    status: str
    reason: str
    due_at: datetime
    error_code: int | None
    error_message: str

    def same_as(self, other: State) -> bool:
        return (self.status, self.reason, self.due_at, self.error_code) == (
            other.status,
            other.reason,
            other.due_at,
            other.error_code,
        )


@dataclass
class Record:
    events: list[Event] = field(default_factory=list)
    states: dict[int, list[State]] = field(default_factory=dict)

    def note(self, shopper: str, text: str) -> None:
        """A shopper's action (or something that happened to them), now."""
        self.events.append(Event(timezone.now(), shopper, text))

    def see(self, message_id: int, state: State) -> None:
        seen = self.states.setdefault(message_id, [])
        if not seen or not seen[-1].same_as(state):
            seen.append(state)


# The timeline -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """Who a group of the timeline is about (the shopper, as the timeline shows them)."""

    key: str
    heading: str
    zone: ZoneInfo


def print_timeline(
    people: Sequence[Person],
    texts: dict[str, list[Message]],
    record: Record,
    channels: dict[str, ChannelSettings | None],
    out: TextIO,
) -> None:
    """Each person's actions and texts in the order they happened, in their local time."""
    for person in people:
        print(f"\n{person.heading}", file=out)
        lines: list[tuple[datetime, int, list[str]]] = [
            (event.at, 0, [_event_line(event, person.zone)])
            for event in record.events
            if event.shopper == person.key
        ]
        for message in texts.get(person.key, []):
            states = record.states.get(message.pk, [])
            lines.append(
                (
                    _text_time(message, states),
                    1,
                    _text_lines(message, states, person.zone, channels.get(message.channel_slug)),
                )
            )
        for _, _, block in sorted(lines, key=lambda item: (item[0], item[1])):
            print("\n".join(block), file=out)


def local(moment: datetime, zone: ZoneInfo) -> str:
    here = moment.astimezone(zone)
    return here.strftime("%a %d %b %H:%M" + (":%S" if here.second else ""))


def language_name(code: str) -> str:
    return Locale.parse(code.replace("-", "_")).get_display_name("en") or code


def _event_line(event: Event, zone: ZoneInfo) -> str:
    return _wrap(f"  {local(event.at, zone):<{TIME}}>> {event.text}", INDENT + "   ")


def _text_time(message: Message, states: Sequence[State]) -> datetime:
    if message.sent_at is not None:
        return message.sent_at
    return states[-1].at if states else message.due_at


def _text_lines(
    message: Message,
    states: Sequence[State],
    zone: ZoneInfo,
    channel: ChannelSettings | None,
) -> list[str]:
    flow = message.flow.replace("_", " ") + (f" {message.step}" if message.step else "")
    head = f"  {local(_text_time(message, states), zone):<{TIME}}{flow:<{FLOW}}"
    if message.sent_at is None:
        due = states[0].due_at if states else message.due_at
        return [_wrap(f"{head}{_status(message)} (was due {local(due, zone)})", INDENT)]
    segments = f"{message.segments} seg"
    head += f"{message.language or '-':<5}{segments:<7}{_status(message)}"
    notes = [_wrap(note, INDENT + "  ", INDENT + "~ ") for note in _history(states, zone, channel)]
    body = [
        _wrap(paragraph, TEXT_INDENT, TEXT_INDENT)
        for paragraph in message.body.splitlines()
        if paragraph
    ]
    return [_wrap(head, INDENT), *notes, *body]


def _status(message: Message) -> str:
    if message.status in (Status.CANCELLED, Status.SKIPPED, Status.FAILED):
        return f"{message.status}: {REASONS.get(message.reason, message.reason)}"
    status = str(message.status)
    if message.clicked_at is not None:
        status += ", clicked"
    if message.converted_at is not None and message.revenue is not None:
        revenue = message.revenue.quantize(Decimal("0.01"))
        status += f", bought {revenue} {message.revenue_currency}"
    return status


def _history(states: Sequence[State], zone: ZoneInfo, channel: ChannelSettings | None) -> list[str]:
    """What a text went through before it went out, from the states seen in between."""
    notes = []
    for before, after in pairwise(states):
        if after.status != Status.SCHEDULED:
            continue
        if after.reason == "retrying":
            wait = int((after.due_at - after.at).total_seconds())
            notes.append(
                f"refused by the provider at {local(after.at, zone)[-5:]} "
                f"({after.error_message or after.error_code}); sent again {wait} s later"
            )
        elif after.reason == DEFERRED:
            notes.append(
                f"due {local(after.at, zone)}, held until {local(after.due_at, zone)}: "
                + _why_held(after.at, zone, channel)
            )
        elif after.reason == AWAITING_CONFIRMATION and before.reason != AWAITING_CONFIRMATION:
            notes.append("waited for the order confirmation")
    return notes


def _why_held(moment: datetime, zone: ZoneInfo, channel: ChannelSettings | None) -> str:
    if channel is None:
        return "held back"
    window = Timings.of(channel).window
    if not is_open(moment, [zone], window):
        hours = f"{window.opens:%H:%M}-{window.closes:%H:%M}"
        return f"quiet hours (texts {hours} in the shopper's time zone)"
    return "frequency cap"


def _wrap(line: str, indent: str, first: str = "") -> str:
    return textwrap.fill(
        line,
        width=WIDTH,
        initial_indent=first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


# The summary --------------------------------------------------------------------------------

COLUMNS = ("sent", "delivered", "clicked", "converted")


def print_summary(rows: Iterable[Row], total: Figures, out: TextIO) -> None:
    """Per flow: texts sent, delivered, clicked and converted, the revenue and the cost."""
    print(
        f"\n{'Per flow':<24}" + "".join(f"{name:>10}" for name in COLUMNS)
        + f"  {'revenue':<22}{'cost':>10}",
        file=out,
    )  # fmt: skip
    for row in rows:
        _summary_line((row.flow or "").replace("_", " "), row.figures, out)
    _summary_line("all flows", total, out)


def _summary_line(label: str, figures: Figures, out: TextIO) -> None:
    counts = "".join(f"{getattr(figures, name):>10}" for name in COLUMNS)
    revenue = ", ".join(
        f"{amount.quantize(Decimal('0.01'))} {currency}"
        for currency, amount in sorted(figures.revenue.items())
    )
    cost = f"{figures.estimated_cost.quantize(Decimal('0.01'))} {COST_CURRENCY}"
    print(f"{label:<24}{counts}  {revenue or '-':<22}{cost:>10}", file=out)
