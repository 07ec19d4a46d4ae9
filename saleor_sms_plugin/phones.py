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


def normalize_phone(raw: str, country: str | None) -> NormalizedPhone:
    """Parse a number written by a shopper, using the address country for national formats.

    Raises PhoneNumberRejected for a missing, unparsable, invalid or fixed-line-only number.
    """
    if not raw or not raw.strip():
        raise PhoneNumberRejected(SkipReason.NO_PHONE, "no phone number given")
    region = (country or "").upper() or None
    try:
        parsed = phonenumbers.parse(raw, region)
    except NumberParseException as error:
        raise PhoneNumberRejected(SkipReason.INVALID_PHONE, f"{raw!r}: {error}") from error
    if not phonenumbers.is_valid_number(parsed):
        raise PhoneNumberRejected(SkipReason.INVALID_PHONE, f"{raw!r} is not a valid number")
    if phonenumbers.number_type(parsed) == PhoneNumberType.FIXED_LINE:
        raise PhoneNumberRejected(SkipReason.NOT_MOBILE, f"{raw!r} is a landline number")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    number_country = phonenumbers.region_code_for_number(parsed) or region or ""
    return NormalizedPhone(e164=e164, country=number_country)


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
