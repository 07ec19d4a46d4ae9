"""Quiet-hour arithmetic: when may a text reach someone, in their own time zones.

Plain functions of datetimes and zones. With several candidate zones (a country spanning
several, region unknown) a moment counts as open only when it is open in every one of them;
should the zones share no open hour at all, the middle zone (by UTC offset) decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

LOOKAHEAD_DAYS = 3


@dataclass(frozen=True)
class SendingWindow:
    """The local hours in which texts may arrive; `opens == closes` means at any hour."""

    opens: time
    closes: time

    def contains(self, local: time) -> bool:
        if self.opens == self.closes:
            return True
        if self.opens < self.closes:
            return self.opens <= local < self.closes
        return local >= self.opens or local < self.closes  # a window across midnight


def is_open(moment: datetime, zones: Sequence[ZoneInfo], window: SendingWindow) -> bool:
    """True when `moment` falls inside the window in every zone."""
    return all(window.contains(moment.astimezone(zone).time()) for zone in zones)


def next_opening(moment: datetime, zones: Sequence[ZoneInfo], window: SendingWindow) -> datetime:
    """The first instant at or after `moment` when a text may arrive (`moment` if it may now)."""
    if not zones or is_open(moment, zones, window):
        return moment
    for candidate in _openings_after(moment, zones, window):
        if is_open(candidate, zones, window):
            return candidate
    return next_opening(moment, (middle_zone(moment, zones),), window)


def _openings_after(
    moment: datetime, zones: Sequence[ZoneInfo], window: SendingWindow
) -> list[datetime]:
    openings = set()
    for zone in zones:
        today = moment.astimezone(zone).date()
        for offset in range(-1, LOOKAHEAD_DAYS + 1):
            local = datetime.combine(today + timedelta(days=offset), window.opens, tzinfo=zone)
            if local > moment:
                openings.add(local.astimezone(moment.tzinfo))
    return sorted(openings)


def middle_zone(moment: datetime, zones: Sequence[ZoneInfo]) -> ZoneInfo:
    """The zone in the middle when the zones are ordered by their offset at `moment`."""
    ordered = sorted(zones, key=lambda zone: moment.astimezone(zone).utcoffset() or timedelta())
    return ordered[len(ordered) // 2]
