"""Serving the schema over HTTP: POST JSON `{query, variables, operationName}`, answers JSON.

GET shows GraphiQL, only while Django runs with DEBUG. Credentials come in the Authorization
header (never a cookie, so another site cannot make a browser call the API on a staff member's
behalf). Errors carry `extensions.exception.code` as Saleor's do.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings as django_settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from graphql import GraphQLError
from graphql.error import format_error as format_graphql_error

from .. import auth
from ..conf import ChannelSettings
from .context import Context
from .permissions import PermissionDenied
from .schema import schema

logger = logging.getLogger(__name__)

INTERNAL_ERROR = "Internal Server Error"


def serve(request: HttpRequest, channel: ChannelSettings) -> HttpResponse:
    """The GraphQL endpoint of a channel's route."""
    if request.method == "GET" and django_settings.DEBUG:
        return render(request, "saleor_sms_plugin/graphiql.html", {"endpoint": request.path})
    if request.method != "POST":
        return _errors([{"message": "Send queries with POST."}], status=405)
    try:
        query, variables, operation_name = _parse(request)
    except ValueError as error:
        return _errors([{"message": str(error)}], status=400)
    try:
        viewer = auth.authenticate(request)
    except auth.InvalidToken as error:
        return _errors([_error(str(error), error.code)], status=401)
    result = schema.execute(
        query,
        variable_values=variables,
        operation_name=operation_name,
        context_value=Context(request=request, viewer=viewer, channel=channel),
    )
    response: dict[str, Any] = {}
    if result.errors:
        response["errors"] = [format_error(error) for error in result.errors]
    if result.invalid:
        return JsonResponse(response, status=400)
    response["data"] = result.data
    return JsonResponse(response)


def _parse(request: HttpRequest) -> tuple[str, dict[str, Any] | None, str | None]:
    if request.content_type != "application/json":
        raise ValueError("Send the query as JSON (Content-Type: application/json).")
    try:
        body = json.loads(request.body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError("The body is not valid JSON.") from error
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
    if isinstance(original, PermissionDenied):
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
