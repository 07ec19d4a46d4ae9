"""The shipped texts: one JSON file per language under `catalogue/`, Django template syntax.

Keys are the flows' texts (`order_confirmation`, `post_purchase_offer_2`, `win_back_3`, ...)
and the replies and lines around them. Each key documents the variables it may use.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from ..constants import TRANSACTIONAL_FLOWS, Flow
from .languages import DEFAULT_LANGUAGE, GSM7_LANGUAGES, SHIPPED_LANGUAGES

CATALOGUE_DIR = Path(__file__).with_name("catalogue")

COMMON_VARIABLES = ("shop_name", "first_name")
ORDER = ("order_number", "total")
TRACKING = ("order_number", "tracking_number", "tracking_url")
OFFER = ("offer_link", "voucher_code", "discount", "expiry")

#: Every text key with the variables it may use (besides shop_name and first_name).
VARIABLES: dict[str, tuple[str, ...]] = {
    "order_confirmation": ORDER,
    "shipping_confirmation": TRACKING,
    "thank_you": ORDER,
    "post_purchase_offer_1": (*OFFER, "order_number"),
    "post_purchase_offer_2": (*OFFER, "order_number"),
    "post_purchase_offer_3": (*OFFER, "order_number"),
    "win_back_1": OFFER,
    "win_back_2": OFFER,
    "win_back_3": OFFER,
    "win_back_4": OFFER,
    "review_request": ORDER,
    "welcome": (),
    "opt_in_confirmation": (),
    "loyalty_invite": OFFER,
    "opt_out_line": (),
    "stop_reply": (),
    "start_reply": (),
    "help_reply": (),
    "test": (),
}
TEXT_KEYS = tuple(VARIABLES)
# Keys whose text carries a link or a tracking number: they may take one more segment.
LONG_KEYS = frozenset(
    key for key, names in VARIABLES.items() if "offer_link" in names or "tracking_url" in names
)
_VARIANT = re.compile(r"^(?P<base>[a-z_]+)_(?P<step>\d+)$")


def flow_of(key: str) -> Flow | None:
    """The flow that sends a text key (None for replies and lines that belong to no flow)."""
    match = _VARIANT.match(key)
    try:
        return Flow(match["base"] if match else key)
    except ValueError:
        return None


def carries_opt_out_line(key: str) -> bool:
    """Marketing texts end with the opt-out line; transactional ones and replies do not."""
    flow = flow_of(key)
    return flow is not None and flow not in TRANSACTIONAL_FLOWS


def segment_budget(key: str, language: str) -> int:
    """The segments a shipped text may take with sample values, opt-out line included.

    One segment; one more for a text with a link (offer links and tracking URLs are long);
    one more for a language whose alphabet needs UCS-2 (70 characters a segment, not 160).
    """
    return 1 + (key in LONG_KEYS) + (language not in GSM7_LANGUAGES)


def allowed_variables(key: str) -> tuple[str, ...]:
    return (*COMMON_VARIABLES, *VARIABLES.get(variant_key(key), ()))


@functools.cache
def texts_of(language: str) -> dict[str, str]:
    path = CATALOGUE_DIR / f"{language}.json"
    texts: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return texts


def variant_key(key: str) -> str:
    """A step beyond the shipped variants rotates through them: win_back_4 reads win_back_1."""
    if key in VARIABLES:
        return key
    match = _VARIANT.match(key)
    if not match:
        return key
    variants = sorted(k for k in VARIABLES if k.startswith(match["base"] + "_"))
    if not variants:
        return key
    return variants[(int(match["step"]) - 1) % len(variants)]


def default_text(key: str, language: str) -> str:
    """The shipped text for a key in a language (English where a language lacks it)."""
    key = variant_key(key)
    if language in SHIPPED_LANGUAGES and key in texts_of(language):
        return texts_of(language)[key]
    try:
        return texts_of(DEFAULT_LANGUAGE)[key]
    except KeyError:
        raise KeyError(f"no text {key!r} in the catalogue") from None
