"""Texts: the shipped catalogue in 18 languages, language choice, rendering, segments."""

from .catalogue import (
    TEXT_KEYS,
    VARIABLES,
    allowed_variables,
    carries_opt_out_line,
    default_text,
    segment_budget,
    variant_key,
)
from .formatting import format_date, format_discount, format_money
from .languages import GSM7_LANGUAGES, SHIPPED_LANGUAGES, choose_language
from .rendering import (
    MissingVariables,
    TemplateProblem,
    missing_variables,
    render_source,
    render_text,
    required_variables,
    sample_variables,
    validate_template,
)
from .segments import SegmentInfo, count_segments, transliterate

__all__ = [
    "GSM7_LANGUAGES",
    "SHIPPED_LANGUAGES",
    "TEXT_KEYS",
    "VARIABLES",
    "MissingVariables",
    "SegmentInfo",
    "TemplateProblem",
    "allowed_variables",
    "carries_opt_out_line",
    "choose_language",
    "count_segments",
    "default_text",
    "format_date",
    "format_discount",
    "format_money",
    "missing_variables",
    "render_source",
    "render_text",
    "required_variables",
    "sample_variables",
    "segment_budget",
    "transliterate",
    "validate_template",
    "variant_key",
]
