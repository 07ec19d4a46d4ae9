"""The click's written-out statements read and write what the ORM would."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from saleor_sms_plugin import link_statements, links, statements
from saleor_sms_plugin.models import LinkClick, Message, OfferLink, Recipient

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(message_factory):
    recipient = Recipient.objects.create(
        phone="+48601234567", country="PL", language="pl", time_zone="Europe/Warsaw"
    )
    message = message_factory(
        "post_purchase_offer",
        recipient=recipient,
        step=2,
        order_id="order-1",
        language="pl",
        context={"order": {"email": "anna@example.com", "language_code": "pl"}},
    )
    return OfferLink.objects.create(
        key=links.new_key(),
        message=message,
        channel_slug="channel-pl",
        offer_id="thanks",
        voucher_code="THANKS15",
        expires_at=timezone.now() + timedelta(days=7),
        checkout_id="Q2hlY2tvdXQ6MQ==",
        checkout_token="0b6a0e4c-5b7e-4a40-9f3c-61a0f40f5c2f",
        checkout_lines=["UHJvZHVjdFZhcmlhbnQ6MQ=="],
        prepare_state="prepared",
    )


def test_a_link_is_read_with_its_message_and_recipient_in_one_query(link):
    with CaptureQueriesContext(connection) as queries:
        found = link_statements.find_link(link.key, "channel-pl")
        assert found is not None
        message, recipient = found.message, found.message.recipient

    assert len(queries) == 1
    for field in link_statements.LINK_FIELDS:
        assert getattr(found, field) == getattr(link, field), field
    assert found.expires_at.tzinfo is not None
    stored = Message.objects.get(pk=link.message_id)
    for field in link_statements.MESSAGE_FIELDS:
        assert getattr(message, field) == getattr(stored, field), field
    assert message.context["order"]["email"] == "anna@example.com"  # JSON, not its text
    assert (recipient.language, recipient.time_zone) == ("pl", "Europe/Warsaw")
    assert found._state.adding is False


def test_fields_not_read_load_when_asked_for(link):
    found = link_statements.find_link(link.key, "channel-pl")
    assert found is not None
    dedupe_key = Message.objects.get(pk=link.message_id).dedupe_key

    with CaptureQueriesContext(connection) as queries:
        assert found.created_at == link.created_at
        assert found.message.dedupe_key == dedupe_key

    assert len(queries) == 2


def test_a_message_without_recipient_comes_with_none(link):
    Message.objects.filter(pk=link.message_id).update(recipient=None)

    found = link_statements.find_link(link.key, "channel-pl")

    assert found is not None
    with CaptureQueriesContext(connection) as queries:
        assert found.message.recipient is None
    assert len(queries) == 0


def test_another_channels_key_or_an_unknown_key_finds_nothing(link):
    assert link_statements.find_link(link.key, "default-channel") is None
    assert link_statements.find_link(links.new_key(), "channel-pl") is None


def test_the_first_human_click_marks_the_message_and_later_ones_do_not(link):
    now = timezone.now()

    first = link_statements.insert_click(link.pk, "mobile", now, message_id=link.message_id)
    second = link_statements.insert_click(
        link.pk, "desktop", now + timedelta(minutes=1), message_id=link.message_id
    )

    assert (first, second) == (True, False)
    assert list(LinkClick.objects.order_by("clicked_at").values_list("device", flat=True)) == [
        "mobile",
        "desktop",
    ]
    message = Message.objects.get(pk=link.message_id)
    assert message.clicked_at == now
    assert message.updated_at == now


def test_a_click_without_a_message_to_mark_is_only_stored(link):
    now = timezone.now()

    assert link_statements.insert_click(link.pk, "bot", now, message_id=None) is False

    assert LinkClick.objects.get().device == "bot"
    assert Message.objects.get(pk=link.message_id).clicked_at is None


def test_columns_refuse_a_field_the_model_does_not_have():
    with pytest.raises(LookupError, match="no_such_field"):
        statements.Columns.of(OfferLink, "l", ["id", "no_such_field"])


def test_columns_are_read_in_the_models_order_whatever_order_they_are_named_in():
    columns = statements.Columns.of(OfferLink, "l", ["expires_at", "key", "id"])

    assert [field.attname for field in columns.fields] == ["id", "key", "expires_at"]
    assert columns.select_list() == 'l."id", l."key", l."expires_at"'
