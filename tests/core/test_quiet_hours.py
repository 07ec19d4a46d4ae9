"""Quiet hours in the recipient's own clock: deferred to the next opening, or dropped."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from saleor_sms_plugin import conf, dispatch, handlers
from saleor_sms_plugin.constants import Flow, SkipReason, Status
from saleor_sms_plugin.events import FulfillmentSnapshot
from saleor_sms_plugin.models import Message, Recipient
from saleor_sms_plugin.quiet_hours import SendingWindow, is_open, middle_zone, next_opening
from saleor_sms_plugin.timezones import zone_name_for, zones_for

WARSAW = ZoneInfo("Europe/Warsaw")
NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
DAYTIME = SendingWindow(time(9), time(20))


def at(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone).astimezone(UTC)


# The arithmetic -------------------------------------------------------------------------------


def test_a_moment_inside_the_window_is_open_now():
    moment = at(WARSAW, 2030, 1, 15, 12, 0)
    assert is_open(moment, (WARSAW,), DAYTIME)
    assert next_opening(moment, (WARSAW,), DAYTIME) == moment


def test_late_evening_waits_for_nine_the_next_morning_local_time():
    assert next_opening(at(WARSAW, 2030, 1, 15, 21, 30), (WARSAW,), DAYTIME) == at(
        WARSAW, 2030, 1, 16, 9, 0
    )


def test_early_morning_waits_for_nine_the_same_day():
    assert next_opening(at(WARSAW, 2030, 1, 15, 6, 0), (WARSAW,), DAYTIME) == at(
        WARSAW, 2030, 1, 15, 9, 0
    )


def test_the_window_closes_at_its_end_time():
    assert not is_open(at(WARSAW, 2030, 1, 15, 20, 0), (WARSAW,), DAYTIME)
    assert is_open(at(WARSAW, 2030, 1, 15, 19, 59), (WARSAW,), DAYTIME)


def test_the_opening_follows_daylight_saving_time():
    # Europe moves its clocks on 31 March 2030: 9:00 is 8:00 UTC before, 7:00 UTC after.
    assert next_opening(at(WARSAW, 2030, 3, 30, 22, 0), (WARSAW,), DAYTIME) == datetime(
        2030, 3, 31, 7, 0, tzinfo=UTC
    )


def test_a_window_across_midnight_and_an_always_open_window():
    night_shift = SendingWindow(time(22), time(6))
    assert is_open(at(WARSAW, 2030, 1, 15, 23, 0), (WARSAW,), night_shift)
    assert not is_open(at(WARSAW, 2030, 1, 15, 12, 0), (WARSAW,), night_shift)
    always = SendingWindow(time(0), time(0))
    assert is_open(at(WARSAW, 2030, 1, 15, 3, 0), (WARSAW,), always)


def test_several_candidate_zones_keep_to_the_hours_open_in_all_of_them():
    zones = (NEW_YORK, LOS_ANGELES)
    # 10:00 in New York is 7:00 in Los Angeles: wait until 9:00 there (12:00 in New York).
    assert next_opening(at(NEW_YORK, 2030, 1, 15, 10, 0), zones, DAYTIME) == at(
        LOS_ANGELES, 2030, 1, 15, 9, 0
    )
    # 21:00 in New York is 18:00 in Los Angeles: New York is closed already.
    assert not is_open(at(NEW_YORK, 2030, 1, 15, 21, 0), zones, DAYTIME)


def test_zones_without_a_common_open_hour_fall_back_to_the_middle_zone():
    narrow = SendingWindow(time(10), time(11))
    zones = (NEW_YORK, ZoneInfo("America/Chicago"), LOS_ANGELES)
    moment = at(NEW_YORK, 2030, 1, 15, 6, 0)
    assert middle_zone(moment, zones).key == "America/Chicago"
    assert next_opening(moment, zones, narrow) == at(ZoneInfo("America/Chicago"), 2030, 1, 15, 10)


def test_unknown_zones_never_hold_a_text_back():
    moment = at(WARSAW, 2030, 1, 15, 3, 0)
    assert next_opening(moment, (), DAYTIME) == moment


# Where the recipient lives --------------------------------------------------------------------


def test_a_single_zone_country_needs_no_region():
    assert zone_name_for("PL") == "Europe/Warsaw"
    assert zone_name_for("fr") == "Europe/Paris"


@pytest.mark.parametrize(
    ("country", "region", "zone"),
    [
        ("US", "CA", "America/Los_Angeles"),
        ("US", "New York", "America/New_York"),
        ("US", "TX", "America/Chicago"),
        ("CA", "BC", "America/Vancouver"),
        ("AU", "WA", "Australia/Perth"),
        ("BR", "São Paulo", "America/Sao_Paulo"),
        ("MX", "Jalisco", "America/Mexico_City"),
    ],
)
def test_the_region_picks_the_zone_in_countries_that_span_several(country, region, zone):
    assert zone_name_for(country, region) == zone


def test_a_multi_zone_country_without_region_keeps_every_zone_as_candidate():
    zones = {zone.key for zone in zones_for("US")}
    assert {"America/New_York", "America/Los_Angeles", "Pacific/Honolulu"} <= zones
    assert zone_name_for("US") == ""


def test_an_unknown_country_has_no_zone():
    assert zones_for("") == ()
    assert zones_for("XX") == ()


# The dispatcher -------------------------------------------------------------------------------

real_db = pytest.mark.django_db(transaction=True)


def ship(order, tracking="1Z999"):
    return FulfillmentSnapshot(id=f"f-{order.id}", order=order, tracking_number=tracking)


@real_db
def test_shipping_text_due_at_night_is_deferred_to_the_morning(configure_channel, order_factory):
    configure_channel(**{conf.flow_switch(Flow.ORDER_CONFIRMATION): False})
    order = order_factory(country="PL")
    [shipping] = handlers.on_fulfillment_created(ship(order))
    night = at(WARSAW, 2030, 1, 15, 23, 0)
    Message.objects.filter(pk=shipping.pk).update(due_at=night)

    report = dispatch.dispatch_due(now=night)

    assert report.deferred == 1
    shipping.refresh_from_db()
    assert shipping.status == Status.SCHEDULED
    assert shipping.due_at == at(WARSAW, 2030, 1, 16, 9, 0)
    assert shipping.attempts == 0
    assert dispatch.dispatch_due(now=at(WARSAW, 2030, 1, 16, 9, 0)).sent == 1


@real_db
def test_quiet_hours_are_the_channels_setting(configure_channel, order_factory):
    configure_channel(send_window_start="07:00", send_window_end="23:30")
    order = order_factory(country="PL")
    [shipping] = handlers.on_fulfillment_created(ship(order))
    late = at(WARSAW, 2030, 1, 15, 23, 0)
    Message.objects.filter(pk=shipping.pk).update(due_at=late)

    assert dispatch.dispatch_due(now=late).sent >= 1


@real_db
def test_order_confirmation_goes_out_at_any_hour(channel, order_factory):
    night = at(WARSAW, 2030, 1, 15, 3, 0)
    handlers.on_order_placed(order_factory(country="PL", created_at=night))

    assert dispatch.dispatch_due(now=night).sent == 1


@real_db
def test_the_region_of_the_address_sets_the_clock(configure_channel, order_factory):
    configure_channel(**{conf.flow_switch(Flow.ORDER_CONFIRMATION): False})
    order = order_factory(country="US", country_area="CA")
    [shipping] = handlers.on_fulfillment_created(ship(order))
    assert Recipient.objects.get().time_zone == "America/Los_Angeles"
    # 21:00 in New York is 18:00 in California: still open there.
    evening = at(NEW_YORK, 2030, 1, 15, 21, 0)
    Message.objects.filter(pk=shipping.pk).update(due_at=evening)

    assert dispatch.dispatch_due(now=evening).sent == 1


@real_db
def test_without_an_address_zone_the_channels_country_decides(configure_channel, order_factory):
    configure_channel("channel-pln", **{conf.flow_switch(Flow.ORDER_CONFIRMATION): False})
    order = order_factory(channel_slug="channel-pln", country="PL")
    [shipping] = handlers.on_fulfillment_created(ship(order))
    # A number whose country has no zone data and no address zone: the channel's PL clock.
    Recipient.objects.update(time_zone="", country="")
    night = at(WARSAW, 2030, 1, 15, 22, 0)
    Message.objects.filter(pk=shipping.pk).update(due_at=night)

    dispatch.dispatch_due(now=night)

    shipping.refresh_from_db()
    assert shipping.due_at == at(WARSAW, 2030, 1, 16, 9, 0)


@real_db
def test_an_offer_deferred_past_its_24_hour_window_is_dropped(configure_channel, order_factory):
    configure_channel(
        **{
            conf.flow_switch(Flow.ORDER_CONFIRMATION): False,
            conf.flow_switch(Flow.POST_PURCHASE_OFFER): True,
        }
    )
    placed = at(WARSAW, 2030, 1, 15, 20, 30)
    order = order_factory(country="PL", created_at=placed, metadata=consenting())
    handlers.on_order_placed(order)
    offers = Message.objects.filter(flow=Flow.POST_PURCHASE_OFFER).order_by("step")
    first = offers[0]
    # The first offer falls due at 20:45, after the window closed at 20:00: it waits for
    # 9:00, still inside the offer's 24 hours.
    dispatch.dispatch_due(now=first.due_at)
    first.refresh_from_db()
    assert first.status == Status.SCHEDULED
    assert first.due_at == at(WARSAW, 2030, 1, 16, 9, 0)
    # An offer that could only go out after the window closes is dropped.
    last = offers[2]
    late = placed + timedelta(hours=23, minutes=50)  # 20:20 the next day: closed
    Message.objects.filter(pk=last.pk).update(due_at=late)
    dispatch.dispatch_due(now=late)
    last.refresh_from_db()
    assert last.status == Status.SKIPPED
    assert last.reason == SkipReason.WINDOW_PASSED


def consenting():
    return {"sms_marketing_consent": "true"}
