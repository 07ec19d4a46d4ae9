"""Which shipped language a text is written in: order → customer → channel → English."""

from __future__ import annotations

import functools

from babel import Locale, UnknownLocaleError
from babel.languages import get_official_languages

SHIPPED_LANGUAGES = (
    "en", "de", "fr", "es", "it", "pl", "nl", "pt-PT", "pt-BR",
    "sv", "da", "fi", "cs", "sk", "hu", "ro", "hr", "tr",
)  # fmt: skip
DEFAULT_LANGUAGE = "en"
# Languages whose shipped texts keep to the GSM-7 alphabet (words are chosen for it: "ya va en
# camino", not "está en camino"). The others need letters GSM-7 lacks (ł, ř, ő, ș, ğ...), so
# their texts go out as UCS-2.
GSM7_LANGUAGES = frozenset({"en", "de", "fr", "es", "it", "nl", "pt-PT", "pt-BR", "sv", "da", "fi"})
_BY_LOWER = {code.lower(): code for code in SHIPPED_LANGUAGES}
# A bare language whose texts differ by country: the variant spoken where it comes from.
_BARE = {"pt": "pt-PT"}


def choose_language(*candidates: str | None) -> str:
    """The first candidate that names a shipped language, else English.

    Candidates are language codes in any of the usual spellings ("PT_BR", "pt-br", "de-AT") or,
    for the channel's default, a country code ("PL", "BR", "AT"), resolved with Babel's data on
    the country's official languages.
    """
    for candidate in candidates:
        language = shipped_language(candidate or "") or shipped_language_of_country(candidate or "")
        if language:
            return language
    return DEFAULT_LANGUAGE


def shipped_language(code: str) -> str | None:
    code = code.strip().replace("_", "-").lower()
    if not code:
        return None
    if code in _BY_LOWER:
        return _BY_LOWER[code]
    base = code.split("-")[0]
    return _BY_LOWER.get(_BARE.get(base, base).lower())


@functools.lru_cache(maxsize=512)
def shipped_language_of_country(country: str) -> str | None:
    country = country.strip().upper()
    if len(country) != 2 or not country.isalpha():
        return None
    for language in get_official_languages(country, de_facto=True):
        found = _BY_LOWER.get(f"{language}-{country}".lower()) or shipped_language(language)
        if found:
            return found
    return None


def babel_locale(language: str) -> Locale:
    try:
        return Locale.parse(language.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return Locale.parse(DEFAULT_LANGUAGE)
