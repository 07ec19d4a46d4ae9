"""The plugin's state: recipients, their messages, and (outside Saleor) channel settings."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.db import models
from django.db.models import Case, F, Q, Value, When

from .constants import Consent, Status


class ChannelConfiguration(models.Model):
    """A channel's configuration when the plugin runs outside Saleor (demo, tests).

    Inside Saleor the configuration lives in Saleor's own plugin configuration.
    """

    channel_slug = models.SlugField(max_length=255, primary_key=True)
    active = models.BooleanField(default=True)
    values = models.JSONField(default=dict, blank=True)
    shop_name = models.CharField(max_length=255, blank=True)
    default_country = models.CharField(max_length=2, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    default_language = models.CharField(max_length=35, blank=True)

    def __str__(self) -> str:
        return self.channel_slug

    def to_settings(self) -> Any:
        from .conf import ChannelSettings

        return ChannelSettings.build(
            self.channel_slug,
            self.active,
            self.values,
            shop_name=self.shop_name,
            default_country=self.default_country,
            currency=self.currency,
            default_language=self.default_language,
        )


class Recipient(models.Model):
    """A phone number that texts go to, with its consent state.

    Consent belongs to the number, not to a channel: a STOP is honoured everywhere.
    """

    # NULL once erased: several erased recipients must not collide on ''.
    phone = models.CharField(max_length=20, null=True, blank=True)  # noqa: DJ001
    country = models.CharField(max_length=2, blank=True)
    country_area = models.CharField(max_length=128, blank=True)
    language = models.CharField(max_length=35, blank=True)
    customer_ref = models.CharField(max_length=255, blank=True)
    consent = models.CharField(
        max_length=16,
        choices=[(c.value, c.value) for c in Consent],
        default=Consent.UNKNOWN,
    )
    consent_source = models.CharField(max_length=64, blank=True)
    consent_changed_at = models.DateTimeField(null=True, blank=True)
    # Set when the provider says the number can never receive texts (invalid, landline).
    unreachable_code = models.IntegerField(null=True, blank=True)
    # The IANA zone of the address, when its country and region name exactly one.
    time_zone = models.CharField(max_length=64, blank=True)
    # The newest purchase seen from this number: follow-ups of older purchases stop.
    last_order_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Explicit indexes and constraints: Django's automatic `*_like` companions (for LIKE
        # queries nobody runs) would double the cost of importing a million recipients.
        constraints = [models.UniqueConstraint(fields=["phone"], name="sms_recipient_phone")]
        indexes = [models.Index(fields=["customer_ref"], name="sms_recipient_customer")]

    def __str__(self) -> str:
        return self.phone or f"erased recipient {self.pk}"


class Message(models.Model):
    """One text: scheduled, then sent once, then tracked to its final state."""

    # Indexed by `sms_message_stats`, which starts with it.
    channel_slug = models.SlugField(max_length=255, db_index=False)
    flow = models.CharField(max_length=32)
    step = models.PositiveSmallIntegerField(default=0)
    # A repeated hook produces the same key, so it can never schedule a second text.
    dedupe_key = models.CharField(max_length=255)
    order_id = models.CharField(max_length=64, blank=True)
    order_number = models.CharField(max_length=64, blank=True)
    customer_ref = models.CharField(max_length=255, blank=True)
    recipient = models.ForeignKey(
        Recipient,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    context = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=35, blank=True)
    body = models.TextField(blank=True)
    encoding = models.CharField(max_length=8, blank=True)
    segments = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(
        max_length=16,
        choices=[(s.value, s.value) for s in Status],
        default=Status.SCHEDULED,
    )
    reason = models.CharField(max_length=64, blank=True)
    error_code = models.IntegerField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    # NULL until the provider accepts the text; unique from then on.
    provider_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    due_at = models.DateTimeField()
    # After this moment the text is pointless (an offer's 24-hour window): skipped, not sent.
    expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the current attempt claimed the row (the provider is asked about texts since then).
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Raised by every claim and every takeover by recovery: the claimant keeps the value and
    # each of its later writes requires it, so one that lost the row changes nothing (leases.py).
    # A database default too: bulk INSERTs written in SQL need not name the column.
    claim_token = models.PositiveIntegerField(default=0, db_default=0)
    # The last time the row's holder renewed its hold; NULL while only the claim holds it.
    renewed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Attribution: the first click on a link in the text, and the purchase it led to.
    clicked_at = models.DateTimeField(null=True, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    revenue = models.DecimalField(max_digits=20, decimal_places=3, null=True, blank=True)
    # A database default too: bulk INSERTs written in SQL need not name the column.
    revenue_currency = models.CharField(max_length=3, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # The dispatcher's query: due scheduled rows, oldest first.
            models.Index(
                fields=["due_at"],
                name="sms_message_due",
                condition=Q(status=Status.SCHEDULED),
            ),
            models.Index(
                fields=["claimed_at"],
                name="sms_message_sending",
                condition=Q(status=Status.SENDING),
            ),
            models.Index(fields=["channel_slug", "flow", "created_at"], name="sms_message_stats"),
            models.Index(fields=["order_id"], name="sms_message_order"),
            models.Index(fields=["customer_ref"], name="sms_message_customer"),
        ]
        # Explicit, without Django's `*_like` companions: each index costs every insert.
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], name="sms_message_dedupe_key"),
            # Only sent texts have one: scheduled rows add nothing to this index.
            models.UniqueConstraint(
                fields=["provider_id"],
                condition=Q(provider_id__isnull=False),
                name="sms_message_provider_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.flow} #{self.pk} ({self.status})"


class InboundMessage(models.Model):
    """A text a shopper sent to the store's number."""

    provider_id = models.CharField(max_length=64, unique=True)
    channel_slug = models.SlugField(max_length=255, db_index=True)
    recipient = models.ForeignKey(
        Recipient,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replies",
    )
    from_phone = models.CharField(max_length=20, blank=True)
    to_phone = models.CharField(max_length=20, blank=True)
    body = models.TextField(blank=True)
    keyword = models.CharField(max_length=16, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    forwarded_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"reply {self.provider_id}"


class CheckoutPreparation(StrEnum):
    """Whether a link's checkout is made ahead of the click (see prepared_checkouts.py)."""

    NONE = ""  # nothing to prepare: a plain link, a choice offer, or preparing switched off
    PENDING = "pending"  # to prepare once its text is sent
    PREPARED = "prepared"  # a checkout was made, ahead of the click or by the click
    FAILED = "failed"  # given up after failed attempts: the click makes the checkout
    SKIPPED = "skipped"  # the text was not sent, the link expired, or the offer changed

    @classmethod
    def pending_becomes(cls, state: CheckoutPreparation) -> Case:
        """An UPDATE's value for `prepare_state`: `state` where it was pending, else as it was."""
        return Case(When(prepare_state=cls.PENDING, then=Value(state)), default=F("prepare_state"))


class OfferLink(models.Model):
    """The link in one text: what it opens, until when, and the checkout it made.

    The URL carries `key` (128 random bits) with a signature over it (see links.py); nothing
    personal. The shopper's details are read from the message when the link is opened.
    """

    key = models.CharField(max_length=22, unique=True)
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="offer_link")
    channel_slug = models.SlugField(max_length=255, db_index=False)
    # The configured offer it opens; empty for a plain link to the store.
    offer_id = models.CharField(max_length=64, blank=True)
    # The shared code, or the code drawn for this recipient.
    voucher_code = models.CharField(max_length=255, blank=True)
    expires_at = models.DateTimeField()
    # The checkout the last click made, reused while it is open, and its lines.
    checkout_id = models.CharField(max_length=255, blank=True)
    checkout_token = models.CharField(max_length=64, blank=True)
    checkout_lines = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Making the checkout before the click: the state, failed attempts and the last error.
    prepare_state = models.CharField(max_length=16, blank=True, default="")
    prepare_attempts = models.PositiveSmallIntegerField(default=0)
    prepare_error = models.CharField(max_length=255, blank=True)
    # After a failed attempt, the next waits until then (backoff).
    prepare_after = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["checkout_token"],
                name="sms_link_checkout",
                condition=~Q(checkout_token=""),
            ),
            # Only links waiting for their checkout: prepared ones leave the index.
            models.Index(
                fields=["id"],
                name="sms_link_to_prepare",
                condition=Q(prepare_state="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"link of message {self.message_id}"


class LinkClick(models.Model):
    """One opening of a link: when, and on what kind of device (never the address)."""

    link = models.ForeignKey(OfferLink, on_delete=models.CASCADE, related_name="clicks")
    clicked_at = models.DateTimeField()
    device = models.CharField(max_length=16)

    def __str__(self) -> str:
        return f"click on {self.link_id} at {self.clicked_at:%Y-%m-%d %H:%M}"


class Conversion(models.Model):
    """An order placed from a checkout that a link made: once per order."""

    order_id = models.CharField(max_length=64, unique=True)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="conversions")
    link = models.ForeignKey(OfferLink, null=True, on_delete=models.SET_NULL, related_name="+")
    revenue = models.DecimalField(max_digits=20, decimal_places=3)
    currency = models.CharField(max_length=3)
    converted_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"order {self.order_id} through message {self.message_id}"


class InboxEvent(models.Model):
    """Something an event source reported, kept until a worker has handled it (event_inbox.py).

    Recorded in the reporting request's transaction with a few ids, so the request does no
    more than one INSERT; the work (loading the order, scheduling texts) runs in a worker.
    """

    kind = models.CharField(max_length=64)
    # Names what happened once per kind (an order's id): a repeated report records nothing.
    key = models.CharField(max_length=255)
    channel_slug = models.SlugField(max_length=255, db_index=False, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    # Runs so far; after a failed one the next waits until `next_attempt_at` (backoff).
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="sms_inbox_event_kind_key")
        ]
        indexes = [
            # The sweep's query: unprocessed events whose time has come; handled ones leave it.
            models.Index(
                fields=["next_attempt_at"],
                name="sms_inbox_event_due",
                condition=Q(processed_at__isnull=True),
            ),
            # Purging handled events after a while.
            models.Index(
                fields=["processed_at"],
                name="sms_inbox_event_processed",
                condition=Q(processed_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class PeriodicTaskRun(models.Model):
    """When each periodic task last finished in a worker, and how often it has: what shows that
    beat and the workers run them (docs/deployment.md)."""

    task = models.CharField(max_length=200, unique=True)
    runs = models.PositiveBigIntegerField(default=0)
    last_finished_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.task}: {self.runs} runs, last {self.last_finished_at:%Y-%m-%d %H:%M:%S}"
