"""Rendering texts (Django template syntax, plain text) and checking an admin's template."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import FilterExpression, Node, TextNode, Variable, VariableNode
from django.template.defaulttags import IfNode

from .catalogue import allowed_variables, default_text
from .formatting import format_date, format_discount, format_money

# SMS is plain text: nothing is HTML-escaped; a missing variable renders as nothing.
ENGINE = Engine(autoescape=False, string_if_invalid="", libraries={}, loaders=[])
ALLOWED_NODES = (TextNode, VariableNode, IfNode)
# Left in plain text, these mean a tag or variable was not closed (or not opened).
UNBALANCED = ("{{", "}}", "{%", "%}")


class TemplateProblem(ValueError):
    """A template an admin wrote cannot be used; the message says why."""


@functools.lru_cache(maxsize=2048)
def compile_template(source: str) -> Template:
    return ENGINE.from_string(source)


def render_text(
    key: str, language: str, variables: Mapping[str, Any], override: str | None = None
) -> str:
    """The text for `key` in `language` (or the channel's override) with its variables filled."""
    source = override or default_text(key, language)
    return _renderer(source)(variables).strip()


Renderer = Callable[[Mapping[str, Any]], str]


@functools.lru_cache(maxsize=2048)
def _renderer(source: str) -> Renderer:
    """A function rendering `source` as Django would.

    Texts are plain words and `{{ name }}` placeholders with string values, nearly always:
    those are filled with one join, several times faster than walking the template's nodes.
    Anything else (filters, dotted names, `{% if %}`, values that are not strings) is left to
    Django, per node.
    """
    template = compile_template(source)
    parts: list[str] = []
    for node in template.nodelist:
        if isinstance(node, TextNode):
            parts.append(node.s)
        elif isinstance(node, VariableNode) and (name := _plain_name(node.filter_expression)):
            parts.append(VariablePart(name, node))
        else:
            return lambda variables: template.render(Context(dict(variables)))
    return functools.partial(_join, tuple(parts))


class VariablePart(str):
    """A placeholder's name, carrying its node for the values it cannot fill itself."""

    node: VariableNode

    def __new__(cls, name: str, node: VariableNode) -> VariablePart:
        part = super().__new__(cls, name)
        part.node = node
        return part


def _join(parts: tuple[str, ...], variables: Mapping[str, Any]) -> str:
    pieces = []
    context: Context | None = None
    for part in parts:
        if type(part) is str:
            pieces.append(part)
            continue
        value = variables.get(part, "")
        if type(value) is not str:  # numbers, dates, None: formatted exactly as Django does
            context = context or Context(dict(variables))
            value = part.node.render(context)  # type: ignore[attr-defined]
        pieces.append(value)
    return "".join(pieces)


def _plain_name(expression: FilterExpression) -> str:
    """`name` for `{{ name }}` without filters or dots; '' for anything else."""
    variable = expression.var
    if expression.filters or not isinstance(variable, Variable) or variable.literal is not None:
        return ""
    lookups: tuple[str, ...] = tuple(variable.lookups or ())
    return lookups[0] if len(lookups) == 1 else ""


def validate_template(source: str, key: str, extra: tuple[str, ...] = ()) -> None:
    """Raise TemplateProblem for a syntax error, a disallowed tag or an unknown variable."""
    try:
        template = compile_template(source)
    except TemplateSyntaxError as error:
        raise TemplateProblem(f"template syntax error: {error}") from None
    allowed = (*allowed_variables(key), *extra)
    for node in _nodes(template.nodelist):
        if isinstance(node, TextNode) and any(mark in node.s for mark in UNBALANCED):
            raise TemplateProblem(
                f"template syntax error: unbalanced braces near {node.s.strip()[:30]!r}"
            )
        if not isinstance(node, ALLOWED_NODES):
            raise TemplateProblem(
                "only {{ variables }} and {% if %} ... {% endif %} are allowed in a text"
            )
    for name in _variable_names(template.nodelist):
        if name not in allowed:
            raise TemplateProblem(
                f"unknown variable {{{{ {name} }}}}; available: {', '.join(allowed)}"
            )


def sample_variables(language: str, currency: str = "EUR") -> dict[str, str]:
    """Realistic values for previews and for checking every text's length."""
    return {
        "shop_name": "Acme Outfitters",
        "first_name": "Anna",
        "order_number": "10482",
        "total": format_money(Decimal("59.90"), currency, language),
        "tracking_number": "1Z999AA10123456784",
        "tracking_url": "https://track.example.com/1Z999AA10123456784",
        "offer_link": "https://shop.example.com/plugins/channel/eu/saleor_sms_plugin.sms/l/Kx7Qm2Vb9RtYp4Lw8NcZa",
        "voucher_code": "THANKS15",
        "discount": format_discount(15, language),
        "expiry": format_date(date(2026, 11, 30), language),
    }


def _nodes(nodelist: Any) -> Iterator[Node]:
    for node in nodelist:
        yield node
        for attribute in getattr(node, "child_nodelists", ()):
            yield from _nodes(getattr(node, attribute, None) or ())
        if isinstance(node, IfNode):
            for _, branch in node.conditions_nodelists:
                yield from _nodes(branch)


def _variable_names(nodelist: Any) -> Iterator[str]:
    for node in _nodes(nodelist):
        if isinstance(node, VariableNode):
            yield from _names(node.filter_expression)
        elif isinstance(node, IfNode):
            for condition, _ in node.conditions_nodelists:
                yield from _condition_names(condition)


def _condition_names(condition: Any) -> Iterator[str]:
    if condition is None:
        return
    value = getattr(condition, "value", None)
    if isinstance(value, FilterExpression):
        yield from _names(value)
    for side in ("first", "second"):
        yield from _condition_names(getattr(condition, side, None))


def _names(expression: FilterExpression) -> Iterator[str]:
    variable = expression.var
    lookups = getattr(variable, "lookups", None)
    if lookups:
        yield lookups[0]
