"""Saleor's settings for the server `bench_links.py` starts.

The clients all come from 127.0.0.1: the plugin's click limit is raised so that each click is
still counted (one Redis round trip, as in production) but none is refused.
"""

from saleor.settings import *  # noqa: F403

SALEOR_SMS_LINK_RATE_LIMIT = (10_000_000, 60)
