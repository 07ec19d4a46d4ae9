"""Extension points: Django signals sent as messages move through their life.

Receivers get primitive, documented keyword arguments (see docs/extending.md).
"""

from django.dispatch import Signal

#: A message was scheduled. kwargs: message (Message)
message_scheduled = Signal()

#: A message is about to be sent. kwargs: message (Message), draft (MessageDraft). A receiver
#: may change `draft.body`, or veto the text by calling `draft.veto(reason)`.
message_sending = Signal()

#: The provider accepted a message. kwargs: message (Message)
message_sent = Signal()

#: A message changed state after it was claimed. kwargs: message_id (int), status (str),
#: previous_status (str | None), error_code (int | None)
message_status_changed = Signal()

#: A shopper sent a text that is not a keyword (a reply in a two-way conversation).
#: kwargs: inbound (InboundMessage)
inbound_received = Signal()

#: A shopper opened a link in a text. kwargs: message_id (int), url (str, where the link led),
#: clicked_at (datetime), first_click (bool: the message's first recorded click)
link_clicked = Signal()

#: A shopper bought through a text (an order attributed to it). kwargs: message_id (int),
#: order_id (str), revenue (Decimal), currency (str), converted_at (datetime)
conversion = Signal()
