"""Serving the schema over HTTP: POST JSON `{query, variables, operationName}`, answers JSON.

GET shows GraphiQL, only while Django runs with DEBUG. Credentials come in the Authorization
header (never a cookie, so another site cannot make a browser call the API on a staff member's
behalf). Errors carry `extensions.exception.code` as Saleor's do.

A request is answered in this order, each step only once the one before passed: the method and
content type; the credentials and the permission (every field needs it, so a request without it
is refused before its body is read: nothing an anonymous client sends is parsed, introspection
included); the body's size; the JSON; the query's syntax, depth, fields and aliases
(`limits.py`); graphql-core's validation; execution within the time budget.
"""

from __future__ import annotations

import json
import logging
from typing import Any, cast

from django.conf import settings as django_settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from graphql import GraphQLError, parse, validate
from graphql.error import format_error as format_graphql_error
from graphql.execution import ExecutionResult, execute

from .. import auth
from ..conf import ChannelSettings
from .context import Context
from .limits import QueryLimits, QueryRefused, TimeBudget, body_too_large
from .permissions import PermissionDenied
from .schema import schema

logger = logging.getLogger(__name__)

INTERNAL_ERROR = "Internal Server Error"
TIME_BUDGET_EXCEEDED = "TimeBudgetExceeded"


def serve(request: HttpRequest, channel: ChannelSettings) -> HttpResponse:
    """The GraphQL endpoint of a channel's route."""
    if request.method == "GET" and django_settings.DEBUG:
        return render(request, "saleor_sms_plugin/graphiql.html", {"endpoint": request.path})
    admitted = _admit(request)
    if isinstance(admitted, HttpResponse):
        return admitted
    limits = QueryLimits.from_settings()
    budget = limits.deadline()
    try:
        query, variables, operation_name = _parse(_body(request, limits))
    except QueryRefused as error:
        return _errors([format_error(error)], status=413)
    except ValueError as error:
        return _errors([{"message": str(error)}], status=400)
    context = Context(request=request, viewer=admitted, channel=channel)
    return _answer(run_query(query, variables, operation_name, context, limits, budget))


def _admit(request: HttpRequest) -> auth.Viewer | HttpResponse:
    """The viewer, when the request may be read; else the answer refusing it.

    Every field needs the permission, so a request without it is refused here, before its
    body is read.
    """
    if request.method != "POST":
        return _errors([{"message": "Send queries with POST."}], status=405)
    if request.content_type != "application/json":
        message = "Send the query as JSON (Content-Type: application/json)."
        return _errors([{"message": message}], status=400)
    try:
        viewer = auth.authenticate(request)
    except auth.InvalidToken as error:
        return _errors([_error(str(error), error.code)], status=401)
    if not viewer.may_manage_texts:
        return _errors([format_error(PermissionDenied())], status=403)
    return viewer


def _answer(result: ExecutionResult) -> JsonResponse:
    response: dict[str, Any] = {}
    if result.errors:
        response["errors"] = [format_error(error) for error in _once_over_budget(result.errors)]
    if result.invalid:
        return JsonResponse(response, status=400)
    response["data"] = result.data
    return JsonResponse(response)


def run_query(
    query: str,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    context: Context,
    limits: QueryLimits,
    budget: TimeBudget,
) -> ExecutionResult:
    """Parse, check the limits, validate and execute; every failure becomes a GraphQL error."""
    try:
        document = parse(query)
        limits.check_document(document)
        budget.check()
        errors = validate(schema, document)
        if errors:
            return ExecutionResult(errors=errors, invalid=True)
        budget.check()
        result = execute(
            schema,
            document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            executor=budget,
        )
        return cast(ExecutionResult, result)  # a Promise only with return_promise=True
    except GraphQLError as error:  # syntax, a limit, an unknown operation, bad variables
        return ExecutionResult(errors=[error], invalid=True)
    except RecursionError:
        # Nesting the depth limit cannot see: graphql-core's parser recurses on every brace
        # and bracket, before the syntax tree exists to be measured.
        return ExecutionResult(errors=[limits.unreadable_nesting()], invalid=True)


def _once_over_budget(errors: list[Exception]) -> list[Exception]:
    """The errors with only the first of the time budget's (every later field raises one)."""
    kept: list[Exception] = []
    over_budget = False
    for error in errors:
        original = getattr(error, "original_error", None) or error
        if isinstance(original, QueryRefused) and original.code == TIME_BUDGET_EXCEEDED:
            if over_budget:
                continue
            over_budget = True
        kept.append(error)
    return kept


def _body(request: HttpRequest, limits: QueryLimits) -> bytes:
    """The request's body, refused (QueryRefused) when it is larger than the limit.

    The declared length is checked before anything is read.
    """
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    limits.check_body_size(declared)
    try:
        body = request.body
    except RequestDataTooBig as error:  # Django's own limit, DATA_UPLOAD_MAX_MEMORY_SIZE
        limit = django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
        raise body_too_large(declared, limit, "DATA_UPLOAD_MAX_MEMORY_SIZE") from error
    limits.check_body_size(len(body))
    return body


def _parse(raw: bytes) -> tuple[str, dict[str, Any] | None, str | None]:
    try:
        body = json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError("The body is not valid JSON.") from error
    except RecursionError as error:  # the decoder recurses on every bracket
        raise ValueError("The body nests arrays or objects too deeply to be read.") from error
    if not isinstance(body, dict):
        raise ValueError("Batched queries are not supported; send one JSON object.")
    query, variables = body.get("query"), body.get("variables")
    operation_name = body.get("operationName")
    if not isinstance(query, str) or not query.strip():
        raise ValueError("Give the query in the `query` field.")
    if variables is not None and not isinstance(variables, dict):
        raise ValueError("`variables` must be a JSON object.")
    if operation_name is not None and not isinstance(operation_name, str):
        raise ValueError("`operationName` must be a string.")
    return query, variables, operation_name


def format_error(error: Exception) -> dict[str, Any]:
    """An error as Saleor formats it: message, locations, path, `extensions.exception.code`.

    Unexpected exceptions are logged and shown only as "Internal Server Error".
    """
    original = getattr(error, "original_error", None) or error
    if isinstance(error, GraphQLError):
        formatted = format_graphql_error(error)
    else:
        formatted = {"message": str(error)}
    if isinstance(original, QueryRefused):
        formatted["extensions"] = {
            "exception": {"code": original.code, "limit": original.setting, "value": original.limit}
        }
    elif isinstance(original, PermissionDenied):
        formatted["extensions"] = {
            "exception": {"code": original.code, "permissions": original.permissions}
        }
    elif original is error or isinstance(original, GraphQLError):
        formatted["extensions"] = {"exception": {"code": type(original).__name__}}
    else:
        logger.error("GraphQL resolver failed", exc_info=original)
        formatted["message"] = INTERNAL_ERROR
        formatted["extensions"] = {"exception": {"code": type(original).__name__}}
    return formatted


def _error(message: str, code: str) -> dict[str, Any]:
    return {"message": message, "extensions": {"exception": {"code": code}}}


def _errors(errors: list[dict[str, Any]], status: int) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=status)
