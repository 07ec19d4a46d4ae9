"""The address of the client behind a request, taken only from what trusted proxies wrote.

Without `SALEOR_SMS_CLIENT_IP_HEADER` it is the connection's address (`REMOTE_ADDR`). With it,
the header is a list that each proxy in front appends the address it was connected from to
(`X-Forwarded-For`, `Forwarded`), or that a single proxy sets (`X-Real-IP`). The client's
address is `SALEOR_SMS_PROXY_COUNT` entries from the right: the one the outermost proxy wrote.
The entries left of it are whatever the client sent, and are never read. With
`SALEOR_SMS_TRUSTED_PROXIES`, the header is read only on connections from those addresses, so
a request that reaches the application around the proxies counts under its own address.

python-ipware reads the entries (ports, IPv6 brackets, RFC 7239 `for=` elements, IPv4-mapped
IPv6 addresses).
"""

from __future__ import annotations

import functools
import ipaddress

from django.http import HttpRequest
from python_ipware import IpWare

from .settings import get_setting


def client_address(request: HttpRequest) -> str:
    """The client's address, as the settings above say to read it."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    header = get_setting("SALEOR_SMS_CLIENT_IP_HEADER")
    proxies = get_setting("SALEOR_SMS_PROXY_COUNT")
    value = request.META.get(header) if header else None
    if not value or proxies <= 0 or not from_trusted_proxy(remote):
        return remote
    # Only the header is handed over: python-ipware would otherwise fold every META key.
    address, _ = _reader(header, proxies).get_client_ip({header: value})
    # A list shorter than the proxies in front did not come through all of them.
    return str(address) if address is not None else remote


def from_trusted_proxy(remote: str) -> bool:
    """True when `SALEOR_SMS_TRUSTED_PROXIES` is empty or holds the connection's address."""
    networks = get_setting("SALEOR_SMS_TRUSTED_PROXIES")
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


@functools.lru_cache(maxsize=8)
def _reader(header: str, proxies: int) -> IpWare:
    # python-ipware counts the proxies listed in the header. The outermost proxy lists none
    # of its own addresses (it writes the client's), so N proxies in front list N - 1.
    return IpWare(precedence=(header,), proxy_count=proxies - 1)
