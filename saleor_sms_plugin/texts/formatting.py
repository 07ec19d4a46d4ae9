"""Prices, percentages and dates as the shopper's language writes them (Babel's CLDR data).

CLDR separates amounts from their currency or percent sign with non-breaking spaces (and French
groups thousands with a narrow one). None of them is in the GSM-7 alphabet: one would turn the
whole text into UCS-2 and double its cost. A text message has no line layout for them to
protect, so the values come with ordinary spaces (and an ASCII minus).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_skeleton
from babel.numbers import format_currency, format_percent

from .languages import babel_locale
from .segments import transliterate


def format_money(amount: Decimal, currency: str, language: str) -> str:
    """An amount in `currency` as `language` writes it: "$59.90", "59,90 €", "249,00 zł"."""
    return transliterate(format_currency(amount, currency, locale=babel_locale(language)))


def format_discount(percent: Decimal | int | float, language: str) -> str:
    """A percentage off as `language` writes it: "15%", "15 %", "%15"."""
    return transliterate(format_percent(Decimal(percent) / 100, locale=babel_locale(language)))


def format_date(day: date, language: str) -> str:
    """A short day and month, e.g. "Nov 30", "30. Nov.", "30 lis"."""
    return transliterate(format_skeleton("MMMd", day, locale=babel_locale(language)))
