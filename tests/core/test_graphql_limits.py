"""What a GraphQL request may cost: refused before parsing without the permission; over a
limit (body, depth, fields, aliases, time) refused with an error naming it; never a 500."""

import json
import time
from datetime import timedelta

import pytest
from graphql.utils.introspection_query import introspection_query

from saleor_sms_plugin import conf

pytestmark = pytest.mark.django_db

URL = f"/plugins/channel/default-channel/{conf.PLUGIN_ID}/graphql/"
TYPENAMES_5000 = "{ " + "__typename " * 5000 + "}"  # 55 KB: 8.6 s of validation unchecked
TYPENAMES_20000 = "{ " + "__typename " * 20000 + "}"  # 220 KB: over 40 s unchecked


@pytest.fixture
def post(client, staff_token):
    """POST a raw body to the route: as staff allowed to manage orders, or anonymously."""

    def send(body, *, staff=True):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {staff_token('MANAGE_ORDERS')}"} if staff else {}
        if not isinstance(body, str | bytes):
            body = json.dumps(body)
        response = client.post(URL, body, content_type="application/json", **headers)
        return response.status_code, response.json()

    return send


def exception(answer):
    [error] = answer["errors"]
    return error["extensions"]["exception"]


def refused_in(send, body, **kwargs):
    send({"query": "{ __typename }"})  # the route's modules loaded before the clock starts
    started = time.perf_counter()
    status, answer = send(body, **kwargs)
    return status, answer, time.perf_counter() - started


# Without the permission, nothing is parsed --------------------------------------------------


@pytest.mark.parametrize("query", [TYPENAMES_5000, TYPENAMES_20000], ids=["55 KB", "220 KB"])
def test_an_anonymous_query_of_any_size_is_refused_before_it_is_parsed(channel, post, query):
    status, answer, seconds = refused_in(post, {"query": query}, staff=False)

    assert status == 403
    assert "data" not in answer
    assert exception(answer)["code"] == "PermissionDenied"
    assert seconds < 1  # bench/bench_graphql_limits.py measures it: well under 50 ms


def test_an_anonymous_body_is_not_even_read_as_json(channel, post):
    status, answer = post("{not json", staff=False)

    assert status == 403
    assert exception(answer)["code"] == "PermissionDenied"


@pytest.mark.parametrize(
    "query",
    [
        "{ __schema { types { name } } }",
        '{ __type(name: "SmsMessage") { fields { name } } }',
        introspection_query,
    ],
    ids=["__schema", "__type", "GraphiQL's introspection"],
)
@pytest.mark.parametrize(
    "token",
    [
        pytest.param(None, id="anonymous"),
        pytest.param(("customer", "MANAGE_ORDERS"), id="customer"),
        pytest.param(("staff",), id="staff without the permission"),
    ],
)
def test_introspection_is_only_for_staff_and_apps_with_the_permission(
    channel, client, staff_token, query, token
):
    headers = {}
    if token:
        kind, *permissions = token
        headers["HTTP_AUTHORIZATION"] = f"Bearer {staff_token(*permissions, kind=kind)}"

    refused = client.post(URL, {"query": query}, content_type="application/json", **headers)

    assert refused.status_code == 403
    assert "data" not in refused.json()


def test_staff_introspect_the_schema_within_the_default_limits(channel, graphql):
    """GraphiQL's full introspection query (depth 16, 181 fields) fits the defaults."""
    answer = graphql(introspection_query)

    assert "errors" not in answer
    names = {graphql_type["name"] for graphql_type in answer["data"]["__schema"]["types"]}
    assert {"SmsMessage", "SmsRecipient", "Query", "Mutation"} <= names


# Body size ------------------------------------------------------------------------------------


def test_a_body_over_the_size_limit_is_refused_before_it_is_read(channel, post):
    status, answer, seconds = refused_in(post, {"query": TYPENAMES_20000})

    assert status == 413
    assert exception(answer) == {
        "code": "RequestTooLarge",
        "limit": "SALEOR_SMS_GRAPHQL_MAX_BODY_SIZE",
        "value": 65536,
    }
    assert "SALEOR_SMS_GRAPHQL_MAX_BODY_SIZE" in answer["errors"][0]["message"]
    assert seconds < 1


def test_the_body_size_limit_is_a_setting(channel, post, settings):
    settings.SALEOR_SMS_GRAPHQL_MAX_BODY_SIZE = 100

    status, answer = post({"query": "{ flows { active } }", "variables": {"pad": "x" * 100}})

    assert status == 413
    assert "the limit is 100 bytes" in answer["errors"][0]["message"]


def test_a_body_over_djangos_own_limit_is_refused_as_too_large(channel, post, settings):
    settings.SALEOR_SMS_GRAPHQL_MAX_BODY_SIZE = 0
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    status, answer = post({"query": TYPENAMES_5000})

    assert status == 413
    assert exception(answer)["limit"] == "DATA_UPLOAD_MAX_MEMORY_SIZE"


# Fields, aliases, depth -------------------------------------------------------------------------


def test_a_query_with_too_many_fields_is_refused_before_validation(channel, post):
    status, answer, seconds = refused_in(post, {"query": TYPENAMES_5000})

    assert status == 400
    assert exception(answer)["code"] == "TooManyFields"
    assert exception(answer)["limit"] == "SALEOR_SMS_GRAPHQL_MAX_FIELDS"
    assert "selects 5000 fields" in answer["errors"][0]["message"]
    assert seconds < 1


def test_fragments_count_wherever_they_are_spread(channel, post):
    """Ten fragments each spreading the next ten times: 10^10 fields, counted in no time."""
    fragments = " ".join(
        f"fragment F{level} on Query {{ {f'...F{level + 1} ' * 10}}}" for level in range(9)
    )
    query = "{ ...F0 } " + fragments + " fragment F9 on Query { __typename }"

    status, answer, seconds = refused_in(post, {"query": query})

    assert status == 400
    assert exception(answer)["code"] == "TooManyFields"
    assert f"selects {10**9} fields" in answer["errors"][0]["message"]
    assert seconds < 1


def test_fragments_no_operation_spreads_are_counted_too(channel, post):
    query = "{ __typename } fragment Unused on Query { " + "__typename " * 600 + "}"

    status, answer = post({"query": query})

    assert status == 400
    assert exception(answer)["code"] == "TooManyFields"


def test_a_query_with_too_many_aliases_is_refused(channel, post):
    query = "{ " + " ".join(f"a{number}: __typename" for number in range(31)) + " }"

    status, answer = post({"query": query})

    assert status == 400
    assert exception(answer)["code"] == "TooManyAliases"
    assert "31 aliases" in answer["errors"][0]["message"]
    assert "SALEOR_SMS_GRAPHQL_MAX_ALIASES" in answer["errors"][0]["message"]


def test_aliases_count_wherever_their_fragment_is_spread(channel, post, settings):
    settings.SALEOR_SMS_GRAPHQL_MAX_ALIASES = 3
    query = "{ ...Named ...Named } fragment Named on Query { a: __typename b: __typename }"

    status, answer = post({"query": query})

    assert "4 aliases" in answer["errors"][0]["message"]


MESSAGES_4_DEEP = "{ messages { edges { node { id } } } }"


def test_a_query_deeper_than_the_limit_is_refused(channel, post, settings):
    settings.SALEOR_SMS_GRAPHQL_MAX_DEPTH = 3

    status, answer = post({"query": MESSAGES_4_DEEP})

    assert status == 400
    assert exception(answer) == {
        "code": "QueryTooDeep",
        "limit": "SALEOR_SMS_GRAPHQL_MAX_DEPTH",
        "value": 3,
    }
    assert "more than 3 levels" in answer["errors"][0]["message"]


def test_a_query_at_the_depth_limit_runs(channel, graphql, settings):
    settings.SALEOR_SMS_GRAPHQL_MAX_DEPTH = 4

    assert graphql(MESSAGES_4_DEEP)["data"] == {"messages": {"edges": []}}


def test_depth_counts_fragments_and_the_fields_they_hold(channel, post, settings):
    settings.SALEOR_SMS_GRAPHQL_MAX_DEPTH = 4
    query = (
        "{ messages { ...Page } } fragment Page on SmsMessageConnection { edges { node { id } } }"
    )

    status, answer = post({"query": query})

    assert exception(answer)["code"] == "QueryTooDeep"


def test_a_fragment_reused_deeper_is_measured_where_it_is_spread(channel, post, settings):
    settings.SALEOR_SMS_GRAPHQL_MAX_DEPTH = 5
    query = (
        "{ ...Root messages { edges { node { recipient { ...Phone } } } } } "
        'fragment Root on Query { recipient(phone: "+12015550123") { ...Phone } } '
        "fragment Phone on SmsRecipient { phone }"
    )

    status, answer = post({"query": query})

    assert exception(answer)["code"] == "QueryTooDeep"


def test_two_thousand_chained_fragments_are_refused_as_too_deep(channel, post, settings):
    settings.SALEOR_SMS_GRAPHQL_MAX_BODY_SIZE = 1_000_000
    chain = " ".join(
        f"fragment F{number} on Query {{ ...F{number + 1} }}" for number in range(2000)
    )
    query = "{ ...F0 } " + chain + " fragment F2000 on Query { __typename }"

    status, answer = post({"query": query})

    assert status == 400
    assert exception(answer)["code"] == "QueryTooDeep"
    assert "recursion" not in answer["errors"][0]["message"]


def test_two_thousand_chained_fragments_from_nobody_are_refused_unread(channel, post):
    chain = " ".join(
        f"fragment F{number} on Query {{ ...F{number + 1} }}" for number in range(2000)
    )

    status, answer = post({"query": "{ ...F0 } " + chain}, staff=False)

    assert status == 403


def test_a_fragment_that_spreads_itself_is_refused_with_the_cycle_named(channel, post):
    query = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...C ...A } "
    query += "fragment C on Query { __typename }"

    status, answer = post({"query": query})

    assert status == 400
    assert answer["errors"][0]["message"] == 'Cannot spread fragment "A" within itself via B.'


@pytest.mark.parametrize(
    "query",
    [
        "{ " + "messages { edges { node { recipient { " * 1500 + "}" * 6000,
        '{ recipient(phone: "1", country: ' + "[" * 5000 + "]" * 5000 + ") { phone } }",
        "{ " + "... on Query { " * 3000 + "__typename" + " }" * 3001,
    ],
    ids=["fields", "a list value", "inline fragments"],
)
def test_a_query_too_nested_for_the_parser_is_refused_as_too_deep(channel, post, query):
    status, answer = post({"query": query})

    assert status == 400
    assert exception(answer)["code"] == "QueryTooDeep"


# Bodies that once answered 500 ----------------------------------------------------------------

DEEP_JSON = "[" * 100_000 + "]" * 100_000


def test_deeply_nested_json_from_nobody_is_refused_unread(channel, post):
    status, answer = post(DEEP_JSON, staff=False)

    assert status == 403


def test_deeply_nested_json_is_refused_with_a_clear_error(channel, post, settings):
    settings.SALEOR_SMS_GRAPHQL_MAX_BODY_SIZE = 1_000_000

    status, answer = post(DEEP_JSON)

    assert status == 400
    assert answer["errors"][0]["message"] == (
        "The body nests arrays or objects too deeply to be read."
    )


def test_deeply_nested_json_over_the_size_limit_is_refused_as_too_large(channel, post):
    status, answer = post(DEEP_JSON)

    assert status == 413


def test_deeply_nested_variables_are_refused_with_a_clear_error(channel, post):
    status, answer = post(
        '{"query": "{ __typename }", "variables": ' + "[" * 20_000 + "]" * 20_000 + "}"
    )

    assert status == 400
    assert "too deeply" in answer["errors"][0]["message"]


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe",
        "null",
        '{"query": 5}',
        '{"query": "{ __typename }", "variables": []}',
        '{"query": "{ __typename }", "operationName": 1}',
        '{"query": "query A { __typename }", "operationName": "B"}',
        '{"query": "query A($n: Int) { __typename }", "variables": {"n": "x"}}',
        '{"query": "{ messages(first: 99999999999999999999) { totalCount } }"}',
        '{"query": "{"}',
        '{"query": "\\u0000"}',
    ],
)
def test_malformed_requests_get_a_clear_error_not_a_500(channel, post, body):
    status, answer = post(body)

    assert 400 <= status < 500 or (status == 200 and answer["errors"])
    assert answer["errors"][0]["message"] != "Internal Server Error"


# Time budget ----------------------------------------------------------------------------------


def test_a_query_over_its_time_budget_is_stopped_with_one_error(channel, post, settings):
    settings.SALEOR_SMS_GRAPHQL_TIME_BUDGET = timedelta(microseconds=1)

    status, answer = post({"query": "{ a: flows { active } b: flows { active } }"})

    assert status == 400
    assert exception(answer) == {
        "code": "TimeBudgetExceeded",
        "limit": "SALEOR_SMS_GRAPHQL_TIME_BUDGET",
        "value": 1e-06,
    }


def test_the_time_budget_stops_the_next_mutation_not_the_one_running(
    channel, post, settings, twilio
):
    """A test text that takes 0.5 s to send uses up a 0.3 s budget: the first is sent and
    answered in full, the next two are not started and get one error between them."""
    settings.SALEOR_SMS_GRAPHQL_TIME_BUDGET = 0.3
    twilio.latency = 0.5
    send = 'sendTestMessage(phone: "+1201555012{}") {{ message {{ status phone }} }}'
    mutation = "mutation { " + " ".join(f"t{n}: " + send.format(n) for n in range(3)) + " }"

    status, answer = post({"query": mutation})

    assert status == 200
    assert answer["data"] == {
        "t0": {"message": {"status": "SENT", "phone": "+12015550120"}},
        "t1": None,
        "t2": None,
    }
    [error] = answer["errors"]
    assert error["path"] == ["t1"]
    assert error["extensions"]["exception"]["code"] == "TimeBudgetExceeded"
    assert [message.to for message in twilio.messages] == ["+12015550120"]
