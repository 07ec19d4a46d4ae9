"""How many SMS segments a text costs: GSM-7 (with its extension table) or UCS-2.

Tables from GSM 03.38. A GSM-7 text fits 160 septets in one segment and 153 per segment when
concatenated; extension characters take two septets and are never split across segments. A
UCS-2 text fits 70 UTF-16 code units, 67 when concatenated; surrogate pairs (most emoji) are
never split either.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7 = "GSM-7"
UCS2 = "UCS-2"
SINGLE = {GSM7: 160, UCS2: 70}
CONCATENATED = {GSM7: 153, UCS2: 67}

# Look-alikes that word processors and phones put into texts, with their GSM-7 twins.
LOOKALIKES = str.maketrans(
    {
        # Apostrophes and single quotes.
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u2039": "'", "\u203a": "'", "\u02bc": "'", "\u00b4": "'", "`": "'",
        # Double quotes and guillemets.
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"',
        # Hyphens, dashes, minus, bullets.
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
        "\u2015": "-", "\u2212": "-", "\u2022": "-", "\u2043": "-",
        "\u2044": "/", "\u2215": "/",
        # Fixed-width and non-breaking spaces, line and paragraph separators.
        "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2004": " ", "\u2005": " ",
        "\u2006": " ", "\u2007": " ", "\u2008": " ", "\u2009": " ", "\u200a": " ",
        "\u202f": " ", "\u205f": " ", "\u2028": "\n", "\u2029": "\n",
        "\u2026": "...",
        # Invisible: soft hyphen, zero-width space, word joiner, byte order mark.
        "\u00ad": "", "\u200b": "", "\u2060": "", "\ufeff": "",
    }
)  # fmt: skip


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str
    segments: int
    # Septets for GSM-7, UTF-16 code units for UCS-2.
    characters: int

    @property
    def per_segment(self) -> int:
        return SINGLE[self.encoding] if self.segments <= 1 else CONCATENATED[self.encoding]


GSM7_ALL = GSM7_BASIC | GSM7_EXTENSION


def is_gsm7(text: str) -> bool:
    return GSM7_ALL.issuperset(text)


def transliterate(text: str) -> str:
    """Replace typographic look-alikes (curly quotes, dashes, special spaces) with GSM-7 ones."""
    return text.translate(LOOKALIKES)


def count_segments(text: str) -> SegmentInfo:
    """The encoding a phone network uses for `text` and the segments it is billed as."""
    if is_gsm7(text):
        encoding = GSM7
        extended = sum(text.count(char) for char in GSM7_EXTENSION if char in text)
        total = len(text) + extended
        wide = extended > 0
    else:
        encoding = UCS2
        total = len(text.encode("utf-16-le")) // 2
        wide = total > len(text)  # surrogate pairs
    if total <= SINGLE[encoding]:
        return SegmentInfo(encoding, 1 if total else 0, total)
    capacity = CONCATENATED[encoding]
    if not wide:
        return SegmentInfo(encoding, -(-total // capacity), total)
    return SegmentInfo(encoding, _pack(_units(text, encoding), capacity), total)


def _units(text: str, encoding: str) -> list[int]:
    if encoding == GSM7:
        return [2 if char in GSM7_EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def _pack(units: list[int], capacity: int) -> int:
    """Segments needed when no character's units may straddle two segments."""
    segments, used = 1, 0
    for size in units:
        if used + size > capacity:
            segments, used = segments + 1, 0
        used += size
    return segments
