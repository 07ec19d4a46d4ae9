"""Rendering texts (Django template syntax, plain text) and checking an admin's template."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import FilterExpression, Node, TextNode, Variable, VariableNode
from django.template.defaulttags import IfNode, TemplateLiteral

from .catalogue import allowed_variables, default_text
from .formatting import format_date, format_discount, format_money

# SMS is plain text: nothing is HTML-escaped; a missing variable renders as nothing.
ENGINE = Engine(autoescape=False, string_if_invalid="", libraries={}, loaders=[])
ALLOWED_NODES = (TextNode, VariableNode, IfNode)
# Left in plain text, these mean a tag or variable was not closed (or not opened).
UNBALANCED = ("{{", "}}", "{%", "%}")


class TemplateProblem(ValueError):
    """A template an admin wrote cannot be used; the message says why."""


class MissingVariables(ValueError):
    """A text whose wording needs values that are empty; `names` lists them in text order."""

    def __init__(self, key: str, names: Sequence[str]) -> None:
        self.key = key
        self.names = tuple(names)
        listed = ", ".join("{{ " + name + " }}" for name in self.names)
        super().__init__(f"the text {key!r} has no value for {listed}")


@functools.lru_cache(maxsize=2048)
def compile_template(source: str) -> Template:
    return ENGINE.from_string(source)


def render_text(
    key: str, language: str, variables: Mapping[str, Any], override: str | None = None
) -> str:
    """The text for `key` in `language` (or the channel's override) with its variables filled.

    Raises MissingVariables when a variable its wording needs (`required_variables`) is
    missing or empty: such a text would read "with  off, code :", and is never sent.
    """
    source = override or default_text(key, language)
    missing = missing_variables(source, variables)
    if missing:
        raise MissingVariables(key, missing)
    return render_source(source, variables)


def render_source(source: str, variables: Mapping[str, Any]) -> str:
    """A template rendered as Django renders it, an empty variable rendering as nothing."""
    return _renderer(source)(variables).strip()


# A variable with one of these filters brings its own value when it is empty.
FALLBACK_FILTERS = frozenset({"default", "default_if_none"})


@functools.lru_cache(maxsize=2048)
def required_variables(source: str) -> tuple[str, ...]:
    """The variables a template's wording needs, in text order: those it shows outside any
    `{% if %}`. Inside one, the words around a variable go with it when it is empty."""
    names: list[str] = []
    for node in compile_template(source).nodelist:
        if isinstance(node, VariableNode) and not _has_fallback(node.filter_expression):
            names.extend(name for name in _names(node.filter_expression) if name not in names)
    return tuple(names)


def missing_variables(source: str, variables: Mapping[str, Any]) -> tuple[str, ...]:
    """The variables `source` needs that are missing, None or blank in `variables`."""
    return tuple(name for name in required_variables(source) if _is_blank(variables.get(name)))


def _is_blank(value: Any) -> bool:
    return value is None or not str(value).strip()


def _has_fallback(expression: FilterExpression) -> bool:
    return any(
        getattr(function, "__name__", "") in FALLBACK_FILTERS for function, _ in expression.filters
    )


Renderer = Callable[[Mapping[str, Any]], str]


@functools.lru_cache(maxsize=2048)
def _renderer(source: str) -> Renderer:
    """A function rendering `source` exactly as Django would.

    Texts are words, `{{ name }}` placeholders with string values and `{% if name %}` around
    a few words, nearly always: those are filled by a walk over a precompiled list, several
    times faster than Django's node rendering. Any other template (filters, dotted names,
    comparisons) is rendered by Django, and so is any value that is not a string.
    """
    template = compile_template(source)
    parts = _compile(template.nodelist)

    def render(variables: Mapping[str, Any]) -> str:
        pieces: list[str] = []
        if parts is not None and _fill(parts, variables, pieces):
            return "".join(pieces)
        return template.render(Context(dict(variables)))

    return render


class VariablePart(str):
    """The name of a `{{ name }}` placeholder (plain text parts are `str` itself)."""


@dataclass(frozen=True)
class Branches:
    """`{% if a %}…{% elif b %}…{% else %}…{% endif %}`: (name, or None for else; parts)."""

    choices: tuple[tuple[str | None, tuple[Any, ...]], ...]


def _compile(nodelist: Iterable[Node]) -> tuple[Any, ...] | None:
    parts: list[Any] = []
    for node in nodelist:
        if isinstance(node, TextNode):
            parts.append(node.s)
        elif isinstance(node, VariableNode) and (name := _plain_name(node.filter_expression)):
            parts.append(VariablePart(name))
        elif isinstance(node, IfNode) and (branches := _compile_if(node)) is not None:
            parts.append(branches)
        else:
            return None
    return tuple(parts)


def _compile_if(node: IfNode) -> Branches | None:
    choices: list[tuple[str | None, tuple[Any, ...]]] = []
    for condition, nodelist in node.conditions_nodelists:
        name = None
        if condition is not None:
            if not isinstance(condition, TemplateLiteral):
                return None
            name = _plain_name(condition.value)
            if not name:
                return None
        body = _compile(nodelist)
        if body is None:
            return None
        choices.append((name, body))
    return Branches(tuple(choices))


def _fill(parts: tuple[Any, ...], variables: Mapping[str, Any], pieces: list[str]) -> bool:
    """Append the rendered parts; False when a value needs Django's formatting."""
    for part in parts:
        kind = type(part)
        if kind is str:
            pieces.append(part)
        elif kind is VariablePart:
            value = variables.get(part, "")
            if type(value) is not str:
                return False
            pieces.append(value)
        else:
            for name, body in part.choices:
                if name is None:
                    matched = True
                else:
                    value = variables.get(name)
                    if value is not None and type(value) is not str:
                        return False
                    matched = bool(value)
                if matched:
                    if not _fill(body, variables, pieces):
                        return False
                    break
    return True


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
