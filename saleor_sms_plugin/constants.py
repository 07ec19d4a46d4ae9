"""Names defined once: flows, message states, configuration fields, provider error codes."""

from enum import StrEnum


class Flow(StrEnum):
    ORDER_CONFIRMATION = "order_confirmation"
    SHIPPING_CONFIRMATION = "shipping_confirmation"
    THANK_YOU = "thank_you"
    POST_PURCHASE_OFFER = "post_purchase_offer"
    WIN_BACK = "win_back"
    REVIEW_REQUEST = "review_request"
    WELCOME = "welcome"
    OPT_IN_CONFIRMATION = "opt_in_confirmation"
    LOYALTY_INVITE = "loyalty_invite"
    CUSTOM = "custom"
    TEST = "test"


# Transactional texts go to anyone who gave a number with the order; every other
# flow is marketing and needs consent, names the brand and carries an opt-out line.
TRANSACTIONAL_FLOWS = frozenset(
    {
        Flow.ORDER_CONFIRMATION,
        Flow.SHIPPING_CONFIRMATION,
        Flow.THANK_YOU,
        Flow.OPT_IN_CONFIRMATION,
        Flow.TEST,
    }
)


class Status(StrEnum):
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


PENDING_STATUSES = frozenset({Status.SCHEDULED})
FINAL_STATUSES = frozenset(
    {
        Status.DELIVERED,
        Status.UNDELIVERED,
        Status.FAILED,
        Status.CANCELLED,
        Status.SKIPPED,
    }
)


class Consent(StrEnum):
    UNKNOWN = "unknown"
    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"


class SkipReason(StrEnum):
    NO_PHONE = "no_phone"
    INVALID_PHONE = "invalid_phone"
    NOT_MOBILE = "not_mobile"
    NO_CONSENT = "no_consent"
    OPTED_OUT = "opted_out"
    FLOW_DISABLED = "flow_disabled"
    CHANNEL_INACTIVE = "channel_inactive"
    WINDOW_PASSED = "window_passed"
    FREQUENCY_CAP = "frequency_cap"
    VETOED = "vetoed"
    # A variable the text's wording needs is empty: stored as "missing_variable:<names>".
    MISSING_VARIABLE = "missing_variable"
    NEW_ORDER = "new_order"
    CONVERTED = "converted"
    ORDER_CANCELLED = "order_cancelled"
    ERASED = "erased"


class TwilioError:
    """Twilio REST API error codes the plugin reacts to."""

    AUTHENTICATION_FAILED = 20003
    RESOURCE_NOT_FOUND = 20404
    INVALID_TO_NUMBER = 21211
    INVALID_FROM_NUMBER = 21212
    UNSUBSCRIBED_RECIPIENT = 21610
    NOT_MOBILE = 21614
    TOO_MANY_REQUESTS = 20429
