import pytest

from saleor_sms_plugin.constants import SkipReason
from saleor_sms_plugin.phones import PhoneNumberRejected, first_textable, is_e164, normalize_phone


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+48 600 100 200", "PL", "+48600100200"),
        ("600 100 200", "PL", "+48600100200"),
        ("(201) 555-0123", "US", "+12015550123"),
        ("0151 23456789", "DE", "+4915123456789"),
        ("+49 151 23456789", "US", "+4915123456789"),
    ],
)
def test_numbers_are_normalized_to_e164_with_the_address_country(raw, country, expected):
    assert normalize_phone(raw, country).e164 == expected


@pytest.mark.parametrize(
    ("raw", "country"),
    [
        ("0048600100200", "PL"),  # Poland dials abroad with 00: phonenumbers reads it so
        ("0048600100200", "US"),  # North America dials 011: 00 is read as the ITU's prefix
        ("00 48 600-100-200", "US"),
        ("0048600100200", None),  # no country to read it in
        ("011 48 600 100 200", "US"),
        ("\uff10\uff10\uff14\uff18600100200", "US"),  # full-width digits
    ],
)
def test_numbers_with_an_international_prefix_are_read_as_international(raw, country):
    number = normalize_phone(raw, country)

    assert (number.e164, number.country) == ("+48600100200", "PL")


def test_a_national_number_starting_with_00_stays_invalid_when_it_is_no_number_abroad():
    with pytest.raises(PhoneNumberRejected) as rejected:
        normalize_phone("00 123", "US")
    assert rejected.value.reason == SkipReason.INVALID_PHONE
    assert "'00 123'" in str(rejected.value)


def test_country_of_an_international_number_comes_from_the_number():
    assert normalize_phone("+49 151 23456789", "US").country == "DE"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", SkipReason.NO_PHONE),
        ("   ", SkipReason.NO_PHONE),
        ("call me", SkipReason.INVALID_PHONE),
        ("+1 555", SkipReason.INVALID_PHONE),
        ("030 1234567", SkipReason.NOT_MOBILE),
    ],
)
def test_untextable_numbers_are_rejected_with_a_reason(raw, reason):
    with pytest.raises(PhoneNumberRejected) as rejected:
        normalize_phone(raw, "DE")
    assert rejected.value.reason == reason


def test_first_textable_number_wins_and_the_first_rejection_is_reported():
    assert first_textable([("030 1234567", "DE"), ("0151 23456789", "DE")]).e164 == "+4915123456789"
    with pytest.raises(PhoneNumberRejected) as rejected:
        first_textable([("030 1234567", "DE"), ("nope", "DE")])
    assert rejected.value.reason == SkipReason.NOT_MOBILE
    with pytest.raises(PhoneNumberRejected) as rejected:
        first_textable([])
    assert rejected.value.reason == SkipReason.NO_PHONE


def test_e164_check():
    assert is_e164("+14155550100")
    assert not is_e164("14155550100")
    assert not is_e164("+1 415 555 0100")
    assert not is_e164("+1555")
