"""Whose clicks count together: the client's address is read only from what the proxies in
front wrote, never from what the client put in a forwarding header itself. (The rate limit
with spoofed headers: test_links_clicks.py.)"""

import ipaddress

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from saleor_sms_plugin.client_address import client_address
from saleor_sms_plugin.settings import get_setting

PROXY = "10.5.5.5"


def address(remote=PROXY, **headers):
    return client_address(RequestFactory().get("/", REMOTE_ADDR=remote, **headers))


@pytest.fixture
def behind_forwarding_proxy(settings):
    settings.SALEOR_SMS_CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"


# Reading the header ---------------------------------------------------------------------------


def test_without_a_header_setting_the_connection_address_counts(settings):
    settings.SALEOR_SMS_CLIENT_IP_HEADER = ""

    assert address(HTTP_X_FORWARDED_FOR="198.51.100.1") == PROXY


def test_one_proxy_the_last_entry_is_the_client(behind_forwarding_proxy):
    assert address(HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.1") == "198.51.100.1"
    assert address(HTTP_X_FORWARDED_FOR="198.51.100.1") == "198.51.100.1"


def test_two_proxies_the_entry_the_outer_one_wrote_is_the_client(behind_forwarding_proxy, settings):
    settings.SALEOR_SMS_PROXY_COUNT = 2

    assert address(HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.1, 10.0.0.2") == "198.51.100.1"


def test_a_list_shorter_than_the_proxies_in_front_is_not_trusted(behind_forwarding_proxy, settings):
    settings.SALEOR_SMS_PROXY_COUNT = 2

    assert address(HTTP_X_FORWARDED_FOR="198.51.100.1") == PROXY


def test_a_header_a_single_proxy_sets_is_read_as_it_is(settings):
    settings.SALEOR_SMS_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"

    assert address(HTTP_X_REAL_IP="198.51.100.1") == "198.51.100.1"
    assert address() == PROXY  # no header: the connection's address


def test_rfc_7239_forwarded_with_ports_and_ipv6_is_read(settings):
    settings.SALEOR_SMS_CLIENT_IP_HEADER = "HTTP_FORWARDED"

    forwarded = 'for=1.2.3.4, for="[2001:db8::7]:443";proto=https'
    assert address(HTTP_FORWARDED=forwarded) == "2001:db8::7"


def test_entries_that_are_not_addresses_are_skipped(behind_forwarding_proxy):
    assert address(HTTP_X_FORWARDED_FOR="nonsense, 198.51.100.1:5312") == "198.51.100.1"
    assert address(HTTP_X_FORWARDED_FOR="nonsense") == PROXY


def test_no_proxies_in_front_means_the_header_is_ignored(behind_forwarding_proxy, settings):
    settings.SALEOR_SMS_PROXY_COUNT = 0

    assert address(HTTP_X_FORWARDED_FOR="198.51.100.1") == PROXY


def test_with_trusted_proxies_the_header_is_read_only_from_them(behind_forwarding_proxy, settings):
    settings.SALEOR_SMS_TRUSTED_PROXIES = ["10.0.0.0/8", "192.0.2.7"]
    spoofed = {"HTTP_X_FORWARDED_FOR": "198.51.100.1"}

    assert address(PROXY, **spoofed) == "198.51.100.1"
    assert address("192.0.2.7", **spoofed) == "198.51.100.1"
    assert address("::ffff:10.1.2.3", **spoofed) == "198.51.100.1"
    assert address("203.0.113.50", **spoofed) == "203.0.113.50"  # around the proxy
    assert address("", **spoofed) == ""


def test_trusted_proxies_come_from_the_environment_comma_separated(monkeypatch):
    monkeypatch.setenv("SALEOR_SMS_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7")

    assert get_setting("SALEOR_SMS_TRUSTED_PROXIES") == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.0.2.7/32"),
    )


def test_a_trusted_proxy_that_is_not_an_address_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("SALEOR_SMS_TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal")

    with pytest.raises(ImproperlyConfigured, match="SALEOR_SMS_TRUSTED_PROXIES"):
        get_setting("SALEOR_SMS_TRUSTED_PROXIES")
