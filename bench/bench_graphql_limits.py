"""GraphQL request limits: what refusing a costly request takes, against reading it.

    .venv/bin/python bench/bench_graphql_limits.py [--repeat 20]

Requests go through the GraphQL view (`graphql.views.serve`) as Django builds them, with the
default limits. Each figure is the median of `--repeat` runs.

1. Anonymous: `{ __typename x 5000 }` (55 KB) and `x 20000` (220 KB), refused before the body is
   read; compared with what graphql-core's parse and validation take on the same query (what
   the view did first before, ahead of the permission check).
2. Staff: the same queries, refused by size (220 KB) or after parsing by the field count
   (55 KB), and 2,000 chained fragments (the body limit raised), refused by depth.
3. What the limits add to a query that passes: GraphiQL's introspection query through the
   view, with the default limits and with every limit turned off.

Needs no database or Redis: nothing it sends reaches a resolver that reads them.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
URL = "/plugins/channel/bench/saleor_sms_plugin.sms/graphql/"
LIMITS = [
    f"SALEOR_SMS_GRAPHQL_{name}"
    for name in ("MAX_BODY_SIZE", "MAX_DEPTH", "MAX_FIELDS", "MAX_ALIASES", "TIME_BUDGET")
]


def main() -> int:
    args = parse_args()
    setup_django()
    from django.conf import settings
    from django.test import RequestFactory, override_settings
    from graphql import parse, validate
    from graphql.utils.introspection_query import introspection_query

    from saleor_sms_plugin import auth
    from saleor_sms_plugin.conf import ChannelSettings
    from saleor_sms_plugin.graphql.schema import schema
    from saleor_sms_plugin.graphql.views import serve

    channel = ChannelSettings("bench", True, {})
    token = auth.issue_token("staff", "bench", permissions=["MANAGE_ORDERS"])
    factory = RequestFactory()

    def answer(query: str, staff: bool) -> Callable[[], int]:
        body = json.dumps({"query": query})
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if staff else {}

        def call() -> int:
            request = factory.post(URL, body, content_type="application/json", **headers)
            return serve(request, channel).status_code

        return call

    def parse_and_validate(query: str) -> Callable[[], int]:
        return lambda: len(validate(schema, parse(query)))

    typenames = {size: "{ " + "__typename " * size + "}" for size in (5000, 20000)}
    chain = " ".join(f"fragment F{n} on Query {{ ...F{n + 1} }}" for n in range(2000))
    fragments = "{ ...F0 } " + chain + " fragment F2000 on Query { __typename }"

    print("1. Anonymous, refused before the body is read (403)")
    for size, query in typenames.items():
        refused = measure(answer(query, staff=False), args.repeat, expect=403)
        print(f"   __typename x {size:>5} ({len(query) // 1000} KB): {ms(refused)}")
    read = measure(parse_and_validate(typenames[5000]), 1)
    refused = measure(answer(typenames[5000], staff=False), args.repeat, expect=403)
    print(f"   the 55 KB query parsed and validated instead: {ms(read)}")
    print(f"   ratio: refusing is {read / refused:,.0f} times faster")

    print("2. Staff, refused by a limit")
    too_large = measure(answer(typenames[20000], staff=True), args.repeat, expect=413)
    print(f"   220 KB, over SALEOR_SMS_GRAPHQL_MAX_BODY_SIZE (413): {ms(too_large)}")
    too_many = measure(answer(typenames[5000], staff=True), args.repeat, expect=400)
    print(f"   55 KB, 5000 fields over SALEOR_SMS_GRAPHQL_MAX_FIELDS (400): {ms(too_many)}")
    print(f"   ratio to parsing and validating the 55 KB query: {read / too_many:,.0f}")
    with override_settings(SALEOR_SMS_GRAPHQL_MAX_BODY_SIZE=1_000_000):
        too_deep = measure(answer(fragments, staff=True), args.repeat, expect=400)
    size = len(fragments) // 1000
    print(f"   2,000 chained fragments ({size} KB), too deep (400): {ms(too_deep)}")

    print("3. A query that passes: GraphiQL's introspection, through the view")
    introspect = answer(introspection_query, staff=True)

    def limits_off() -> int:
        # Plain attributes: override_settings costs more than a millisecond itself.
        for name in LIMITS:
            setattr(settings, name, 0)
        try:
            return introspect()
        finally:
            for name in LIMITS:
                delattr(settings, name)

    checked, unchecked = alternate([introspect, limits_off], args.repeat, expect=200)
    print(f"   with the default limits: {ms(checked)}")
    print(f"   with every limit off:    {ms(unchecked)}")
    print(f"   ratio: {checked / unchecked:.2f} (runs alternated, medians)")
    return 0


def measure(call: Callable[[], Any], repeat: int, expect: int | None = None) -> float:
    """Median seconds of `repeat` calls; checks the status each returns against `expect`."""
    [seconds] = alternate([call], repeat, expect)
    return seconds


def alternate(calls: list[Callable[[], Any]], repeat: int, expect: int | None) -> list[float]:
    """Median seconds of each call, the calls run in turn so load on the machine hits all.

    The garbage collector runs between calls, not during one (as timeit has it): otherwise a
    call pays for the garbage the one before it left.
    """
    seconds: list[list[float]] = [[] for _ in calls]
    for call in calls:
        call()  # modules loaded and caches filled before the clock runs
    for _ in range(repeat):
        for index, call in enumerate(calls):
            gc.collect()
            gc.disable()
            started = time.perf_counter()
            try:
                result = call()
            finally:
                seconds[index].append(time.perf_counter() - started)
                gc.enable()
            if expect is not None and result != expect:
                raise SystemExit(f"expected HTTP {expect}, got {result}")
    return [statistics.median(each) for each in seconds]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.2f} ms"


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_sms_plugin.standalone_settings")
    import django

    django.setup()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    return parser.parse_args()


if __name__ == "__main__":
    raise SystemExit(main())
