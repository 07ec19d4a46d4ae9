"""Custom flows: texts a store adds in Python next to the built-in flows.

A custom flow has a name, a text (one template, or one per language) and the delays of its texts
after the moment it starts. The store's own code starts it for one number with `trigger` (from
a Saleor webhook handler, a management command, a signal receiver); the texts are then stored
and sent like those of any flow: once per trigger key however often it is triggered, within
the sending window and the frequency cap, and only to numbers that opted in unless the flow is
transactional. `cancel` stops the texts of one trigger that are still to go. The GraphQL
`flows` query lists the registered flows. docs/extending.md has a worked example.

Custom texts are stored with the flow `custom`; the message's context names the custom flow
(`context["custom_flow"]`) and the trigger key (`context["trigger_key"]`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from . import handlers, scheduling
from .conf import ChannelSettings, get_channel_settings
from .constants import Flow, Status
from .models import Message, Recipient
from .phones import normalize_phone
from .texts import MissingVariables, TemplateProblem, render_text, validate_template

CONTEXT_KEY = "custom_flow"
TRIGGER_KEY = "trigger_key"
CANCELLED = "trigger_cancelled"
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
BUILT_IN_NAMES = frozenset(flow.value for flow in Flow)


class CustomFlowError(ValueError):
    """A custom flow that cannot be registered, or a trigger naming no registered flow."""


@dataclass(frozen=True)
class CustomFlow:
    name: str
    # Templates by language code ("en", "pl", ...) in the catalogue's syntax (Django templates:
    # {{ shop_name }}, {{ first_name }}, the declared variables, {% if %}).
    texts: Mapping[str, str]
    transactional: bool = False
    delays: tuple[timedelta, ...] = (timedelta(0),)
    # Texts not sent this long after the trigger are skipped.
    expires_after: timedelta | None = None
    description: str = ""

    def template(self, language: str) -> tuple[str, str]:
        """(language, template) best matching `language`: exact, then its base, then the
        first one registered."""
        base = language.split("-")[0].split("_")[0].lower()
        for candidate in (language, base):
            if candidate in self.texts:
                return candidate, self.texts[candidate]
        first = next(iter(self.texts))
        return first, self.texts[first]


_flows: dict[str, CustomFlow] = {}


def register_flow(
    name: str,
    *,
    text: str | Mapping[str, str],
    variables: Iterable[str] = (),
    transactional: bool = False,
    delays: Iterable[timedelta] = (timedelta(0),),
    expires_after: timedelta | None = None,
    description: str = "",
    replace: bool = False,
) -> CustomFlow:
    """Add a custom flow; returns it.

    `variables` names what the texts may use besides {{ shop_name }} and {{ first_name }}.
    Raises CustomFlowError for an invalid definition (a template that does not compile, an
    undeclared variable) or a name already taken (`replace=True` redefines a custom flow).
    """
    if not NAME_RE.match(name) or name in BUILT_IN_NAMES:
        raise CustomFlowError(
            f"{name!r}: a custom flow needs a new name of 2 to 32 lowercase letters, digits "
            "and underscores, starting with a letter"
        )
    if name in _flows and not replace:
        raise CustomFlowError(f"a custom flow named {name!r} is already registered")
    texts = {"en": text} if isinstance(text, str) else dict(text)
    if not texts or not all(template.strip() for template in texts.values()):
        raise CustomFlowError(f"{name!r}: give the text to send")
    for language, template in texts.items():
        try:
            validate_template(template, CONTEXT_KEY, tuple(variables))
        except TemplateProblem as problem:
            raise CustomFlowError(f"{name!r} ({language}): {problem}") from None
    steps = tuple(delays)
    if not steps or any(delay < timedelta(0) for delay in steps):
        raise CustomFlowError(f"{name!r}: give one delay (zero or more) per text")
    flow = CustomFlow(name, texts, transactional, steps, expires_after, description)
    _flows[name] = flow
    return flow


def unregister_flow(name: str) -> None:
    _flows.pop(name, None)


def get_flow(name: str) -> CustomFlow:
    try:
        return _flows[name]
    except KeyError:
        raise CustomFlowError(f"no custom flow named {name!r} is registered") from None


def registered_flows() -> list[CustomFlow]:
    return sorted(_flows.values(), key=lambda flow: flow.name)


@dataclass(frozen=True)
class TriggerResult:
    """What a trigger scheduled: new messages (none for a repeated key or inactive channel)."""

    flow: CustomFlow
    messages: list[Message] = field(default_factory=list)


def trigger(
    name: str,
    *,
    channel_slug: str,
    phone: str,
    key: str,
    variables: Mapping[str, Any] | None = None,
    country: str = "",
    customer_ref: str = "",
    order_id: str = "",
    order_number: str = "",
    at: datetime | None = None,
) -> TriggerResult:
    """Start custom flow `name` for one number; `key` makes a repeated trigger a no-op.

    `at` is when the flow starts (default: now); its texts are due at `at` plus each delay.
    Raises CustomFlowError for an unknown flow or a variable its text needs left empty, and
    `phones.PhoneNumberRejected` for a number that cannot receive texts. In a channel where
    the plugin is not active nothing is scheduled.
    """
    flow = get_flow(name)
    channel = get_channel_settings(channel_slug)
    if channel is None or not channel.active:
        return TriggerResult(flow)
    recipient = scheduling.upsert_recipient(
        normalize_phone(phone, country or channel.default_country or None),
        customer_ref=customer_ref,
    )
    at = at or timezone.now()
    values = {key_: str(value) for key_, value in (variables or {}).items()}
    language, body = _render(flow, recipient, channel, values)
    rows = [
        Message(
            channel_slug=channel.channel_slug,
            flow=Flow.CUSTOM.value,
            step=step,
            dedupe_key=f"{Flow.CUSTOM}:{flow.name}:{key}:{step}",
            order_id=order_id,
            order_number=order_number,
            customer_ref=customer_ref or recipient.customer_ref,
            recipient=recipient,
            context={
                CONTEXT_KEY: flow.name,
                TRIGGER_KEY: key,
                "transactional": flow.transactional,
                "variables": values,
            },
            language=language,
            body=body,
            due_at=at + delay,
            expires_at=at + flow.expires_after if flow.expires_after else None,
        )
        for step, delay in enumerate(flow.delays, start=1)
    ]
    created = scheduling.insert_new(rows)
    handlers.enqueue_due(created)
    return TriggerResult(flow, created)


def cancel(name: str, key: str) -> int:
    """Cancel the texts of one trigger that are still to go; returns how many."""
    return Message.objects.filter(
        status=Status.SCHEDULED,
        flow=Flow.CUSTOM,
        context__contains={CONTEXT_KEY: name, TRIGGER_KEY: key},
    ).update(status=Status.CANCELLED, reason=CANCELLED, updated_at=timezone.now())


def _render(
    flow: CustomFlow, recipient: Recipient, channel: ChannelSettings, variables: dict[str, str]
) -> tuple[str, str]:
    language, template = flow.template(recipient.language or channel.default_language or "en")
    values = {"shop_name": channel.shop_name, "first_name": "", **variables}
    try:
        body = render_text(CONTEXT_KEY, language, values, override=template)
    except MissingVariables as missing:
        needed = ", ".join("{{ " + name + " }}" for name in missing.names)
        raise CustomFlowError(f"{flow.name!r} ({language}): no value for {needed}") from None
    if not flow.transactional:
        opt_out = render_text(
            "opt_out_line", language, values, override=channel.text_override("opt_out_line")
        )
        body = f"{body}\n{opt_out}"
    return language, body
