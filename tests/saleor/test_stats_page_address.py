"""The configuration shows each channel the address of its own statistics page."""

from __future__ import annotations

import pytest

from saleor_sms_plugin import conf

from ..conftest import ACCOUNT_SID, AUTH_TOKEN, SENDER
from .test_plugin_configuration import update_plugin

pytestmark = pytest.mark.django_db


def shown(data, channel):
    [configuration] = [
        item
        for item in data["plugin"]["channelConfigurations"]
        if item["channel"]["slug"] == channel.slug
    ]
    return {item["name"]: item["value"] for item in configuration["configuration"]}


def test_a_saved_channel_shows_the_full_address_of_its_statistics_page(
    staff_api_client_can_manage_plugins, channel_USD
):
    data = update_plugin(
        staff_api_client_can_manage_plugins,
        channel_USD,
        {
            conf.ACCOUNT_SID: ACCOUNT_SID,
            conf.AUTH_TOKEN: AUTH_TOKEN,
            conf.SENDER: SENDER,
            conf.PUBLIC_BASE_URL: "https://api.example.com/",
        },
    )

    assert data["errors"] == []
    assert shown(data, channel_USD)[conf.STATS_PAGE] == (
        f"https://api.example.com/plugins/channel/{channel_USD.slug}/{conf.PLUGIN_ID}/stats/"
    )


def test_without_a_public_base_url_the_channels_path_is_shown(
    staff_api_client_can_manage_plugins, channel_PLN
):
    data = update_plugin(
        staff_api_client_can_manage_plugins,
        channel_PLN,
        {conf.ACCOUNT_SID: ACCOUNT_SID, conf.AUTH_TOKEN: AUTH_TOKEN, conf.SENDER: SENDER},
    )

    assert shown(data, channel_PLN)[conf.STATS_PAGE].startswith(
        f"/plugins/channel/{channel_PLN.slug}/{conf.PLUGIN_ID}/stats/"
    )
