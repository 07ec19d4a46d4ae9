"""Prices, percentages and dates as the shopper's language writes them (Babel's CLDR data)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_skeleton
from babel.numbers import format_currency, format_percent

from .languages import babel_locale


def format_money(amount: Decimal, currency: str, language: str) -> str:
    return format_currency(amount, currency, locale=babel_locale(language))


def format_discount(percent: Decimal | int | float, language: str) -> str:
    return format_percent(Decimal(percent) / 100, locale=babel_locale(language))


def format_date(day: date, language: str) -> str:
    """A short day and month, e.g. "Nov 30", "30. Nov.", "30 lis"."""
    return format_skeleton("MMMd", day, locale=babel_locale(language))
