import itertools
import json
import subprocess
import sys

import pytest

from saleor_sms_plugin import conf
from saleor_sms_plugin.constants import Flow
from saleor_sms_plugin.texts import TEXT_KEYS

VALID = {
    conf.ACCOUNT_SID: "AC" + "a" * 32,
    conf.AUTH_TOKEN: "secret",
    conf.SENDER: "+14155550100",
    conf.PUBLIC_BASE_URL: "https://api.example.com/",
}


def test_valid_values_are_parsed_and_defaults_fill_the_gaps():
    values = conf.parse_values(VALID)
    assert values[conf.PUBLIC_BASE_URL] == "https://api.example.com"
    assert values[conf.flow_switch(Flow.ORDER_CONFIRMATION)] is True


def test_empty_configuration_is_valid_and_prints_to_the_console():
    settings = conf.ChannelSettings.build("default-channel", True, {})
    assert not settings.has_twilio_credentials


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        (conf.ACCOUNT_SID, "AC123", "Account SID"),
        (conf.ACCOUNT_SID, "SK" + "a" * 32, "Account SID"),
        (conf.SENDER, "4155550100", "E.164"),
        (conf.SENDER, "MG123", "Messaging Service SID"),
        (conf.PUBLIC_BASE_URL, "api.example.com", "absolute"),
        (conf.PUBLIC_BASE_URL, "ftp://api.example.com", "absolute"),
        (conf.PUBLIC_BASE_URL, "https://api.example.com/?a=1", "query"),
    ],
)
def test_malformed_values_are_rejected_with_the_field_named(field, value, fragment):
    with pytest.raises(conf.ConfigurationError) as rejected:
        conf.parse_values({**VALID, field: value})
    assert list(rejected.value.errors) == [field]
    assert fragment in rejected.value.errors[field]


def test_messaging_service_sid_is_a_valid_sender():
    assert conf.parse_values({**VALID, conf.SENDER: "MG" + "0" * 32})[conf.SENDER].startswith("MG")


def test_account_sid_needs_a_token_and_a_sender():
    with pytest.raises(conf.ConfigurationError) as rejected:
        conf.parse_values({conf.ACCOUNT_SID: "AC" + "a" * 32})
    assert rejected.value.errors == {
        conf.AUTH_TOKEN: "Connection · Twilio Auth Token is required when "
        "Connection · Twilio Account SID is filled in",
        conf.SENDER: "Connection · Sender is required when "
        "Connection · Twilio Account SID is filled in",
    }


def test_saleor_configuration_items_become_values():
    items = [{"name": conf.SENDER, "value": "+14155550100"}, {"name": "other", "value": None}]
    assert conf.values_from_configuration(items) == {conf.SENDER: "+14155550100", "other": None}


def test_route_urls_follow_saleors_plugin_paths():
    settings = conf.ChannelSettings.build("channel-pln", True, VALID)
    assert settings.route_url("twilio/status") == (
        f"https://api.example.com/plugins/channel/channel-pln/{conf.PLUGIN_ID}/twilio/status"
    )
    assert conf.ChannelSettings.build("x", True, {}).route_url("twilio/status") == ""


def test_callback_urls_use_saleors_channel_less_plugin_path():
    settings = conf.ChannelSettings.build(
        "channel-pln", True, {conf.PUBLIC_BASE_URL: "https://api.example.com/"}
    )
    assert settings.callback_url("twilio/status") == (
        f"https://api.example.com/plugins/{conf.PLUGIN_ID}/callbacks/channel-pln/twilio/status"
    )
    assert conf.ChannelSettings.build("x", True, {}).callback_url("twilio/status") == ""


def test_a_stored_configuration_is_parsed_once_per_text_and_read_only():
    stored = json.dumps([{"name": conf.SENDER, "value": "+48500100200"}])
    changed = json.dumps([{"name": conf.SENDER, "value": "+48500100300"}])

    first, again, other = (conf.stored_values(text) for text in (stored, stored, changed))

    assert first is again
    assert (first[conf.SENDER], other[conf.SENDER]) == ("+48500100200", "+48500100300")
    with pytest.raises(TypeError):
        first[conf.SENDER] = "+48500100400"  # type: ignore[index]


def test_a_stored_configuration_with_a_wrong_value_is_refused_each_time():
    stored = json.dumps([{"name": conf.SENDER, "value": "not a number"}])

    for _ in range(2):
        with pytest.raises(conf.ConfigurationError) as raised:
            conf.stored_values(stored)
        assert list(raised.value.errors) == [conf.SENDER]


# Offer texts need their offers -----------------------------------------------------------------

OFFERS_ON = {conf.flow_switch(Flow.POST_PURCHASE_OFFER): True}
LINKS = {
    conf.PUBLIC_BASE_URL: "https://api.example.com",
    conf.CHECKOUT_URL_TEMPLATE: "https://shop.example.com/checkout?checkout={checkout_id}",
}


def offer(step=None, flow="post_purchase_offer", **values):
    return {
        "id": f"{flow}-{step}",
        "flow": flow,
        **({"step": step} if step else {}),
        "kind": "voucher",
        "discount_type": "percentage",
        "discount_value": 15,
        "voucher_code": "THANKS15",
        **values,
    }


def refusal(values):
    with pytest.raises(conf.ConfigurationError) as refused:
        conf.validate_values(values)
    return refused.value.errors


def label(name):
    return conf.fields_by_name()[name].dashboard_label


def test_the_default_configuration_saves_with_offers_off_and_empty():
    values = conf.validate_values({})

    assert values[conf.flow_switch(Flow.POST_PURCHASE_OFFER)] is False
    assert values[conf.OFFERS] == ()


def test_offers_switched_on_without_offers_are_refused_on_save_naming_the_fields():
    errors = refusal(OFFERS_ON)

    assert list(errors) == [conf.flow_switch(Flow.POST_PURCHASE_OFFER)]
    message = errors[conf.flow_switch(Flow.POST_PURCHASE_OFFER)]
    assert message.startswith(
        f"{label(conf.flow_switch(Flow.POST_PURCHASE_OFFER))} is on, but texts 1, 2, 3 would go "
        "out without {{ discount }}"
    )
    assert f'"{label(conf.OFFERS)}"' in message
    assert f'"{label(conf.PUBLIC_BASE_URL)}"' in message


def test_offers_for_two_texts_of_three_are_refused_naming_the_third():
    values = {**OFFERS_ON, **LINKS, conf.OFFERS: json.dumps([offer(1), offer(2)])}

    message = refusal(values)[conf.flow_switch(Flow.POST_PURCHASE_OFFER)]

    assert message.startswith(
        f"{label(conf.flow_switch(Flow.POST_PURCHASE_OFFER))} is on, but text 3 would go out "
        "without {{ discount }}, {{ voucher_code }}, {{ expiry }}"
    )
    assert '"step": 3' in message
    two_times = conf.validate_values({**values, conf.OFFER_DELAYS_MINUTES: "15, 180"})
    assert two_times[conf.OFFER_DELAYS_MINUTES] == (15, 180)


def test_one_offer_without_a_step_serves_every_offer_text():
    values = {**OFFERS_ON, **LINKS, conf.OFFERS: json.dumps([offer()])}

    assert conf.validate_values(values)[conf.OFFERS][0].step is None


def test_a_reworded_text_that_needs_no_offer_goes_without_one():
    override = conf.text_override("post_purchase_offer_3")
    values = {
        **OFFERS_ON,
        **LINKS,
        conf.OFFERS: json.dumps([offer(1), offer(2)]),
        override: "{{ shop_name }}: last hours to shop again: {{ offer_link }}",
    }

    assert conf.validate_values(values)[override]


def test_win_back_without_offers_is_refused_a_loyalty_invite_is_not():
    win_back = conf.flow_switch(Flow.WIN_BACK)
    loyalty = conf.flow_switch(Flow.LOYALTY_INVITE)

    errors = refusal({win_back: True, loyalty: True, conf.WIN_BACK_MAX_TEXTS: "2"})

    assert list(errors) == [win_back]
    assert errors[win_back].startswith(f"{label(win_back)} is on, but texts 1, 2 would go out")
    assert conf.validate_values({loyalty: True})[loyalty] is True


def test_a_stored_configuration_saved_before_the_rule_still_loads():
    stored = json.dumps([{"name": name, "value": value} for name, value in OFFERS_ON.items()])

    values = conf.stored_values(stored)

    assert values[conf.flow_switch(Flow.POST_PURCHASE_OFFER)] is True


def test_the_pause_after_a_purchase_through_an_offer_is_24_hours_unless_set():
    field = conf.fields_by_name()[conf.OFFER_PAUSE_AFTER_CONVERSION_HOURS]

    assert conf.parse_values({})[conf.OFFER_PAUSE_AFTER_CONVERSION_HOURS] == 24
    assert conf.parse_values({field.name: "0"})[field.name] == 0
    assert field.label
    assert "offer link" in field.help_text
    for wrong in ("-1", "1.5", "721", "a day"):
        with pytest.raises(conf.ConfigurationError) as refused:
            conf.parse_values({field.name: wrong})
        assert refused.value.errors == {
            field.name: f"{field.dashboard_label} must be a whole number from 0 to 720"
        }


# What the admin reads when a save is refused -------------------------------------------------

OFFER_WITHOUT_FLOW = json.dumps([{"id": "x", "kind": "voucher"}])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            conf.ACCOUNT_SID,
            "AC123",
            "Connection · Twilio Account SID must start with AC followed by 32 hexadecimal "
            "digits (0-9, a-f)",
        ),
        (
            conf.SENDER,
            "4155550100",
            "Connection · Sender must be a phone number in E.164 format (e.g. +14155550123) "
            "or a Messaging Service SID ('MG' followed by 32 hexadecimal digits)",
        ),
        (
            conf.PUBLIC_BASE_URL,
            "https://api.example.com/?a=1",
            "Connection · Public base URL must not contain a query string or fragment",
        ),
        (
            conf.STORE_URL,
            "https://shop.example.com/{checkout_id}",
            "Connection · Store home URL has an unknown placeholder {checkout_id}; "
            "known: {channel}, {language}",
        ),
        (
            conf.TRACKING_URL_TEMPLATE,
            "https://track.example.com/",
            "Connection · Tracking URL must contain {tracking_number}, "
            "e.g. https://track.example.com/{tracking_number}",
        ),
        (
            conf.OFFER_DELAYS_MINUTES,
            "600, 30",
            "Timing · Offer times (minutes after the order) must be increasing, each offer "
            "later than the one before",
        ),
        (
            conf.WIN_BACK_MAX_TEXTS,
            "0",
            "Timing · Win-back: most texts per customer must be a whole number from 1 to 24",
        ),
        (
            conf.SEND_WINDOW_START,
            "9am",
            "Timing · Texts from (recipient's local time) must be a time of day as HH:MM, "
            "e.g. 09:00",
        ),
        (
            conf.OFFERS,
            "[{",
            "Offers · Offer list (JSON): must be a JSON list of offers: Expecting property name "
            "enclosed in double quotes at line 1, column 3",
        ),
        (
            conf.OFFERS,
            OFFER_WITHOUT_FLOW,
            "Offers · Offer list (JSON): offer 1 ('x'): flow must be one of "
            "'post_purchase_offer', 'win_back', 'loyalty_invite'",
        ),
        (
            conf.CONSENT_METADATA_KEY,
            "sms consent",
            "Compliance · Consent metadata key must be a metadata key without spaces, "
            "at most 128 characters",
        ),
        (
            conf.PRICE_PER_SEGMENT,
            "-1",
            "Reporting · Price per text segment (USD) must be a price of zero or more, "
            "such as 0.0083",
        ),
        (
            conf.text_override("order_confirmation"),
            "Hi {{ fist_name }}",
            "Texts · Order confirmation: unknown variable {{ fist_name }}; available: "
            "shop_name, first_name, order_number, total",
        ),
    ],
)
def test_a_refused_value_is_named_by_the_label_the_dashboard_shows(field, value, message):
    values = {**VALID, field: value}
    if field == conf.OFFERS:
        values[conf.CHECKOUT_URL_TEMPLATE] = "https://shop.example.com/c/{checkout_id}"

    with pytest.raises(conf.ConfigurationError) as rejected:
        conf.parse_values(values)

    assert rejected.value.errors == {field: message}
    assert str(rejected.value) == message


def test_every_field_that_can_refuse_a_value_names_itself_by_its_dashboard_label():
    # Numbers, times, addresses, offers and templates refuse this value; switches, the secret
    # and the read-only field take anything.
    refused = "not valid {{"
    refusing = []
    for field in conf.FIELDS:
        try:
            field.parse(refused)
        except ValueError:
            refusing.append(field)

    with pytest.raises(conf.ConfigurationError) as rejected:
        conf.parse_values({field.name: refused for field in conf.FIELDS})

    assert {conf.ACCOUNT_SID, conf.OFFERS, conf.text_override("welcome")} <= set(
        rejected.value.errors
    )
    assert list(rejected.value.errors) == [field.name for field in refusing]
    for field in refusing:
        label = field.dashboard_label
        assert rejected.value.errors[field.name].startswith((f"{label} ", f"{label}: "))


# The form as the Dashboard lists it ----------------------------------------------------------


def test_the_form_reads_section_by_section_each_field_in_one_section():
    sections = [field.section for field in conf.FIELDS]

    assert [section for section, _ in itertools.groupby(sections)] == list(conf.Section)
    assert len({field.name for field in conf.FIELDS}) == len(conf.FIELDS)
    for field in conf.FIELDS:
        assert field.dashboard_label == f"{field.section} · {field.label}"


@pytest.mark.parametrize(
    ("section", "names"),
    [
        (
            conf.Section.CONNECTION,
            [conf.ACCOUNT_SID, conf.AUTH_TOKEN, conf.SENDER, conf.PUBLIC_BASE_URL, conf.LINK_HOST],
        ),
        (conf.Section.FLOWS, [conf.flow_switch(flow) for flow, _, _ in conf.CONFIGURABLE_FLOWS]),
        (
            conf.Section.TIMING,
            [
                conf.OFFER_DELAYS_MINUTES,
                conf.WIN_BACK_INTERVAL_DAYS,
                conf.SEND_WINDOW_START,
                conf.SEND_WINDOW_END,
                conf.FREQUENCY_CAP_TEXTS,
            ],
        ),
        (conf.Section.OFFERS, [conf.OFFERS, conf.OFFER_LINK_LIFETIME_DAYS]),
        (
            conf.Section.COMPLIANCE,
            [conf.CONSENT_METADATA_KEY, conf.REPLY_TO_STOP, conf.RETENTION_DAYS],
        ),
        (conf.Section.REPORTING, [conf.PRICE_PER_SEGMENT, conf.STATS_PAGE]),
        (conf.Section.TEXTS, [conf.text_override(key) for key in TEXT_KEYS]),
    ],
)
def test_each_field_sits_in_its_section(section, names):
    fields = conf.fields_by_name()

    assert {name: fields[name].section for name in names} == dict.fromkeys(names, section)


def test_the_connection_comes_first_in_the_order_an_admin_sets_it_up():
    assert [field.name for field in conf.FIELDS[:4]] == [
        conf.ACCOUNT_SID,
        conf.AUTH_TOKEN,
        conf.SENDER,
        conf.PUBLIC_BASE_URL,
    ]


def test_a_configuration_saved_in_an_older_order_is_listed_in_the_forms_order():
    stored = [
        {"name": conf.text_override("welcome"), "value": ""},
        {"name": "a_field_of_an_older_version", "value": "1"},
        {"name": conf.SENDER, "value": "+14155550100"},
        {"name": conf.OFFERS, "value": ""},
        {"name": conf.ACCOUNT_SID, "value": ""},
    ]

    assert [item["name"] for item in conf.in_form_order(stored)] == [
        conf.ACCOUNT_SID,
        conf.SENDER,
        conf.OFFERS,
        conf.text_override("welcome"),
        "a_field_of_an_older_version",
    ]


def test_the_help_of_text_fields_is_built_when_read_not_when_imported():
    script = "import saleor_sms_plugin.conf as conf; print(conf.text_help.cache_info().currsize)"
    imported = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    field = conf.fields_by_name()[conf.text_override("win_back_1")]

    assert imported.stdout.strip() == "0"
    assert str(field.help_text) == conf.text_help("win_back_1")
    assert "opt-out line" in str(field.help_text)
