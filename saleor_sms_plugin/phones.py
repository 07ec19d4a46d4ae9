"""Phone numbers: parsing with phonenumbers, never by hand."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from .constants import SkipReason


class PhoneNumberRejected(ValueError):
    """A number that cannot receive a text; `reason` is a SkipReason."""

    def __init__(self, reason: SkipReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class NormalizedPhone:
    e164: str
    country: str


# The international call prefix the ITU recommends, dialled across Europe, Africa and most of
# Asia and Latin America. phonenumbers reads a number's prefix as its region dials it ("011" in
# North America) and cannot read one without a region: "00 48 600 100 200" from a Polish
# shopper of an American store, or from a provider that leaves out the country, is +48.
ITU_INTERNATIONAL_PREFIX = "00"


def normalize_phone(raw: str, country: str | None) -> NormalizedPhone:
    """Parse a number written by a shopper, using the address country for national formats.

    A number in international form with the "00" prefix is read as one wherever the country
    dials abroad otherwise. Raises PhoneNumberRejected for a missing, unparsable, invalid or
    fixed-line-only number.
    """
    if not raw or not raw.strip():
        raise PhoneNumberRejected(SkipReason.NO_PHONE, "no phone number given")
    region = (country or "").upper() or None
    parsed = _parse(raw, region)
    if phonenumbers.number_type(parsed) == PhoneNumberType.FIXED_LINE:
        raise PhoneNumberRejected(SkipReason.NOT_MOBILE, f"{raw!r} is a landline number")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    number_country = phonenumbers.region_code_for_number(parsed) or region or ""
    return NormalizedPhone(e164=e164, country=number_country)


def _parse(raw: str, region: str | None) -> phonenumbers.PhoneNumber:
    """The number `raw` in `region`, else in international form; raises the first problem."""
    readings = [(raw, region)]
    international = _with_itu_prefix(raw)
    if international is not None:
        readings.append((international, None))
    problems: list[str] = []
    for text, reading_region in readings:
        try:
            parsed = phonenumbers.parse(text, reading_region)
        except NumberParseException as error:
            problems.append(f"{raw!r}: {error}")
            continue
        if phonenumbers.is_valid_number(parsed):
            return parsed
        problems.append(f"{raw!r} is not a valid number")
    raise PhoneNumberRejected(SkipReason.INVALID_PHONE, problems[0])


def _with_itu_prefix(raw: str) -> str | None:
    """'+48600100200' for '00 48 600 100 200'; None for a number not written that way."""
    digits = phonenumbers.normalize_digits_only(raw)
    if "+" in raw or not digits.startswith(ITU_INTERNATIONAL_PREFIX):
        return None
    return "+" + digits[len(ITU_INTERNATIONAL_PREFIX) :]


def first_textable(candidates: list[tuple[str, str]]) -> NormalizedPhone:
    """The first candidate (phone, country) that can receive a text.

    Raises the rejection of the first candidate when none can, so the reason recorded
    is the one for the number the shopper gave first.
    """
    if not candidates:
        raise PhoneNumberRejected(SkipReason.NO_PHONE, "no phone number on the order")
    first_error: PhoneNumberRejected | None = None
    for raw, country in candidates:
        try:
            return normalize_phone(raw, country)
        except PhoneNumberRejected as error:
            first_error = first_error or error
    assert first_error is not None
    raise first_error


def is_e164(value: str) -> bool:
    """True for a valid number written in E.164 (+ and digits only)."""
    if not value.startswith("+") or not value[1:].isdigit():
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value, None))
    except NumberParseException:
        return False
