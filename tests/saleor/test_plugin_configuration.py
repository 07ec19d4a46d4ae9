"""Saleor lists the plugin per channel, and validates its configuration when an admin saves."""

from __future__ import annotations

import graphene
import pytest
from saleor.graphql.tests.utils import get_graphql_content
from saleor.plugins.manager import get_plugins_manager
from saleor.plugins.models import PluginConfiguration

from saleor_sms_plugin import conf
from saleor_sms_plugin.conf import get_channel_settings
from saleor_sms_plugin.constants import Flow
from saleor_sms_plugin.plugin import SmsPlugin

from ..conftest import ACCOUNT_SID, AUTH_TOKEN, SENDER

pytestmark = pytest.mark.django_db

PLUGINS_QUERY = """
query {
  plugins(first: 20, filter: {search: "SMS"}) {
    edges { node {
      id name
      globalConfiguration { active }
      channelConfigurations {
        active channel { slug } configuration { name value type label helpText }
      }
    } }
  }
}
"""

PLUGIN_UPDATE = """
mutation ($id: ID!, $channel: ID, $active: Boolean, $configuration: [ConfigurationItemInput!]) {
  pluginUpdate(
    id: $id, channelId: $channel, input: {active: $active, configuration: $configuration}
  ) {
    plugin { channelConfigurations { active channel { slug } configuration { name value } } }
    errors { field code message }
  }
}
"""


def test_manager_loads_one_plugin_instance_per_channel_each_with_its_configuration(
    channel_USD, channel_PLN, configure_sms
):
    configure_sms(channel_USD, sender="+14155550199")
    manager = get_plugins_manager(allow_replica=False)

    usd = manager.get_plugin(conf.PLUGIN_ID, channel_slug=channel_USD.slug)
    pln = manager.get_plugin(conf.PLUGIN_ID, channel_slug=channel_PLN.slug)

    assert isinstance(usd, SmsPlugin)
    assert isinstance(pln, SmsPlugin)
    assert (usd.channel, pln.channel) == (channel_USD, channel_PLN)
    assert (usd.active, pln.active) == (True, False)
    values = {item["name"]: item["value"] for item in usd.configuration}
    assert values[conf.SENDER] == "+14155550199"
    assert [item["name"] for item in pln.configuration] == [field.name for field in conf.FIELDS]


def test_plugins_query_lists_the_plugin_with_a_configuration_per_channel(
    staff_api_client_can_manage_plugins, channel_USD, channel_PLN
):
    content = get_graphql_content(staff_api_client_can_manage_plugins.post_graphql(PLUGINS_QUERY))

    [edge] = content["data"]["plugins"]["edges"]
    node = edge["node"]
    assert node["id"] == conf.PLUGIN_ID
    assert node["name"] == SmsPlugin.PLUGIN_NAME
    assert node["globalConfiguration"] is None
    by_channel = {item["channel"]["slug"]: item for item in node["channelConfigurations"]}
    assert set(by_channel) == {channel_USD.slug, channel_PLN.slug}
    assert not by_channel[channel_USD.slug]["active"]
    types = {item["name"]: item["type"] for item in by_channel[channel_USD.slug]["configuration"]}
    assert types[conf.ACCOUNT_SID] == "STRING"
    assert types[conf.AUTH_TOKEN] == "SECRET"


def test_the_dashboard_lists_the_fields_section_by_section_with_labels_and_help(
    staff_api_client_can_manage_plugins, channel_USD
):
    content = get_graphql_content(staff_api_client_can_manage_plugins.post_graphql(PLUGINS_QUERY))

    [edge] = content["data"]["plugins"]["edges"]
    [usd] = [
        item
        for item in edge["node"]["channelConfigurations"]
        if item["channel"]["slug"] == channel_USD.slug
    ]
    items = usd["configuration"]
    assert [item["name"] for item in items] == [field.name for field in conf.FIELDS]
    assert [item["label"] for item in items] == [field.dashboard_label for field in conf.FIELDS]
    assert items[0]["label"] == "Connection · Twilio Account SID"
    help_texts = {item["name"]: item["helpText"] for item in items}
    assert help_texts[conf.text_override("win_back_1")] == conf.text_help("win_back_1")


def test_a_channel_saved_in_an_older_order_is_listed_in_the_forms_order(channel_USD):
    # Saleor keeps the order of a channel's first save: here, one from before the sections.
    PluginConfiguration.objects.create(
        identifier=conf.PLUGIN_ID,
        name=SmsPlugin.PLUGIN_NAME,
        channel=channel_USD,
        configuration=[
            {"name": field.name, "value": field.default} for field in reversed(conf.FIELDS)
        ],
    )

    manager = get_plugins_manager(allow_replica=False)
    usd = manager.get_plugin(conf.PLUGIN_ID, channel_slug=channel_USD.slug)

    assert [item["name"] for item in usd.configuration] == [field.name for field in conf.FIELDS]


def update_plugin(client, channel, configuration, active=False):
    # Saleor stores `active` as given: a missing variable would reach the database as NULL.
    variables = {
        "id": conf.PLUGIN_ID,
        "channel": graphene.Node.to_global_id("Channel", channel.pk),
        "active": active,
        "configuration": [{"name": name, "value": value} for name, value in configuration.items()],
    }
    content = get_graphql_content(client.post_graphql(PLUGIN_UPDATE, variables))
    return content["data"]["pluginUpdate"]


def test_plugin_update_saves_a_channels_configuration_as_the_core_reads_it(
    staff_api_client_can_manage_plugins, channel_USD, channel_PLN
):
    data = update_plugin(
        staff_api_client_can_manage_plugins,
        channel_USD,
        {
            conf.ACCOUNT_SID: ACCOUNT_SID,
            conf.AUTH_TOKEN: AUTH_TOKEN,
            conf.SENDER: SENDER,
            conf.PUBLIC_BASE_URL: "https://api.example.com/",
            conf.flow_switch(Flow.ORDER_CONFIRMATION): "false",
        },
        active=True,
    )

    assert data["errors"] == []
    usd = get_channel_settings(channel_USD.slug)
    assert usd is not None
    assert usd.active
    assert (usd.account_sid, usd.auth_token, usd.sender) == (ACCOUNT_SID, AUTH_TOKEN, SENDER)
    assert usd.public_base_url == "https://api.example.com"
    assert not usd.flow_enabled(Flow.ORDER_CONFIRMATION)
    assert (usd.default_country, usd.currency) == ("US", "USD")
    pln = get_channel_settings(channel_PLN.slug)
    assert pln is not None
    assert not pln.active
    assert pln.account_sid == ""


def test_the_auth_token_is_masked_when_read_back(staff_api_client_can_manage_plugins, channel_USD):
    data = update_plugin(
        staff_api_client_can_manage_plugins,
        channel_USD,
        {conf.ACCOUNT_SID: ACCOUNT_SID, conf.AUTH_TOKEN: AUTH_TOKEN, conf.SENDER: SENDER},
    )

    [usd] = data["plugin"]["channelConfigurations"]
    values = {item["name"]: item["value"] for item in usd["configuration"]}
    assert values[conf.AUTH_TOKEN] != AUTH_TOKEN
    assert AUTH_TOKEN not in str(data)


@pytest.mark.parametrize(
    ("name", "value", "field", "message"),
    [
        (
            conf.ACCOUNT_SID,
            "SK0123",
            "accountSid",
            "Connection · Twilio Account SID must start with AC",
        ),
        (conf.SENDER, "call me maybe", "sender", "Connection · Sender must be a phone number"),
        (
            conf.PUBLIC_BASE_URL,
            "ftp://api.example.com",
            "publicBaseUrl",
            "Connection · Public base URL must be an absolute http(s) URL",
        ),
        (
            conf.text_override("order_confirmation"),
            "Hi {{ fist_name }}",
            "textOrderConfirmation",
            "Texts · Order confirmation: unknown variable {{ fist_name }}",
        ),
        (
            conf.OFFERS,
            '[{"id": "x"}]',
            "offers",
            "Offers · Offer list (JSON): offer 1 ('x'): flow must be one of",
        ),
    ],
)
def test_plugin_update_rejects_an_invalid_value_naming_the_field_by_its_label(
    staff_api_client_can_manage_plugins, channel_USD, name, value, field, message
):
    data = update_plugin(staff_api_client_can_manage_plugins, channel_USD, {name: value})

    # An offer list also needs a public base URL and a checkout URL: those errors come too.
    [error] = [error for error in data["errors"] if error["field"] == field]
    assert error["code"] == "INVALID"
    assert error["message"].startswith(message)
    stored = PluginConfiguration.objects.get(identifier=conf.PLUGIN_ID, channel=channel_USD)
    assert {item["name"]: item["value"] for item in stored.configuration}[name] != value


def test_plugin_update_refuses_offers_switched_on_without_an_offer_for_their_texts(
    staff_api_client_can_manage_plugins, channel_USD
):
    switch = conf.flow_switch(Flow.POST_PURCHASE_OFFER)

    data = update_plugin(staff_api_client_can_manage_plugins, channel_USD, {switch: "true"})

    [error] = data["errors"]
    assert error["field"] == "flowPostPurchaseOfferEnabled"
    assert f'"{conf.fields_by_name()[conf.OFFERS].dashboard_label}"' in error["message"]
    assert "{{ discount }}" in error["message"]
    stored = PluginConfiguration.objects.get(identifier=conf.PLUGIN_ID, channel=channel_USD)
    assert not {item["name"]: item["value"] for item in stored.configuration}.get(switch)


def test_an_account_sid_without_token_and_sender_names_both_missing_fields(
    staff_api_client_can_manage_plugins, channel_USD
):
    data = update_plugin(
        staff_api_client_can_manage_plugins, channel_USD, {conf.ACCOUNT_SID: ACCOUNT_SID}
    )

    assert {error["field"]: error["message"] for error in data["errors"]} == {
        "authToken": "Connection · Twilio Auth Token is required when "
        "Connection · Twilio Account SID is filled in",
        "sender": "Connection · Sender is required when "
        "Connection · Twilio Account SID is filled in",
    }
