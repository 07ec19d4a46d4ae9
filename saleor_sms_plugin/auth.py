"""Who is asking: staff users and apps, with the Saleor permissions they hold.

The GraphQL API and the statistics page ask `authenticate(request)` for a `Viewer`. Inside Saleor
the Saleor bridge answers with Saleor's own machinery: staff access tokens (JWT) and app tokens,
with the permissions Saleor grants them. Outside Saleor (the demo, the tests, a store that runs
the core on its own) a Bearer token signed with Django's `SECRET_KEY` stands in for them; see
`issue_token`. The setting `SALEOR_SMS_AUTHENTICATOR` names another authenticator, a callable
that takes the request and returns a `Viewer`.

Browsers cannot send a Bearer header when following a link, so the statistics page accepts the
token once in the address (`?token=...`) and keeps a signed, short-lived session cookie instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from django.apps import apps
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from .settings import get_setting


class ViewerKind(StrEnum):
    ANONYMOUS = "anonymous"
    CUSTOMER = "customer"
    STAFF = "staff"
    APP = "app"


class Permission(StrEnum):
    """The Saleor permissions (by their GraphQL enum names) the plugin checks."""

    MANAGE_PLUGINS = "MANAGE_PLUGINS"
    MANAGE_ORDERS = "MANAGE_ORDERS"


#: Any one of these opens the API and the statistics page: the texts carry customers' numbers
#: and order details, which Saleor shows to staff who manage orders or plugins.
REQUIRED_PERMISSIONS: tuple[Permission, ...] = (Permission.MANAGE_PLUGINS, Permission.MANAGE_ORDERS)


@dataclass(frozen=True)
class Viewer:
    """A staff user, an app, a customer or nobody, with the Saleor permissions it holds."""

    kind: ViewerKind
    id: str = ""
    email: str = ""
    name: str = ""
    permissions: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_authenticated(self) -> bool:
        return self.kind != ViewerKind.ANONYMOUS

    def has_any(self, permissions: Iterable[str]) -> bool:
        """True when the viewer holds at least one of `permissions`."""
        return not self.permissions.isdisjoint(str(permission) for permission in permissions)

    @property
    def may_manage_texts(self) -> bool:
        return self.kind in (ViewerKind.STAFF, ViewerKind.APP) and self.has_any(
            REQUIRED_PERMISSIONS
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "permissions": sorted(self.permissions),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Viewer:
        """A viewer from `to_json`'s output; raises InvalidToken when it is malformed."""
        try:
            kind = ViewerKind(data["kind"])
            permissions = frozenset(str(name) for name in data.get("permissions", []))
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidToken("The token does not describe a user or an app.") from error
        return cls(
            kind=kind,
            id=str(data.get("id", "")),
            email=str(data.get("email", "")),
            name=str(data.get("name", "")),
            permissions=permissions,
        )


ANONYMOUS = Viewer(ViewerKind.ANONYMOUS)


class InvalidToken(Exception):
    """A token was given but is expired, forged or malformed; `code` names the problem."""

    def __init__(self, message: str, code: str = "InvalidTokenError") -> None:
        super().__init__(message)
        self.code = code


Authenticator = Callable[[HttpRequest], Viewer]


def authenticate(request: HttpRequest) -> Viewer:
    """The viewer a request speaks for (`ANONYMOUS` without credentials).

    Raises InvalidToken when the request carries a token that does not hold.
    """
    return get_authenticator()(request)


def get_authenticator() -> Authenticator:
    path = get_setting("SALEOR_SMS_AUTHENTICATOR")
    if path is None:
        path = (
            "saleor_sms_plugin.saleor_bridge.authenticate_request"
            if apps.is_installed("saleor.plugins")
            else "saleor_sms_plugin.auth.authenticate_signed_token"
        )
    return import_string(path)


# The headers Saleor reads a token from (`saleor.core.auth.get_token_from_request`).
SALEOR_AUTH_HEADER = "HTTP_AUTHORIZATION_BEARER"
DEFAULT_AUTH_HEADER = "HTTP_AUTHORIZATION"
AUTH_HEADER_PREFIXES = ("JWT", "BEARER")


def bearer_token(request: HttpRequest) -> str | None:
    """The token of `Authorization-Bearer: <token>` or `Authorization: Bearer|JWT <token>`."""
    token: str | None = request.META.get(SALEOR_AUTH_HEADER)
    if not token:
        parts = request.META.get(DEFAULT_AUTH_HEADER, "").split(maxsplit=1)
        if len(parts) == 2 and parts[0].upper() in AUTH_HEADER_PREFIXES:
            token = parts[1]
    return token or None


# Signed tokens: the stand-in for Saleor's tokens outside Saleor ------------------------------

TOKEN_SALT = "saleor_sms_plugin.auth.token"  # noqa: S105 - a signing namespace


def issue_token(
    kind: ViewerKind | str,
    id: str,
    *,
    permissions: Iterable[str] = (),
    email: str = "",
    name: str = "",
) -> str:
    """A token for `authenticate_signed_token`, valid for `SALEOR_SMS_TOKEN_MAX_AGE`.

    Only for installations without Saleor: inside Saleor, use Saleor's own tokens.
    """
    viewer = Viewer(ViewerKind(kind), id, email, name, frozenset(str(p) for p in permissions))
    return signing.dumps(viewer.to_json(), salt=TOKEN_SALT, compress=True)


def authenticate_signed_token(request: HttpRequest) -> Viewer:
    """The viewer of a Bearer token made by `issue_token` (`ANONYMOUS` without one)."""
    token = bearer_token(request)
    if token is None:
        return ANONYMOUS
    return viewer_from_signed(token, TOKEN_SALT, _token_max_age())


def viewer_from_signed(value: str, salt: str, max_age: timedelta) -> Viewer:
    try:
        data = signing.loads(value, salt=salt, max_age=max_age)
    except signing.SignatureExpired as error:
        raise InvalidToken("The token has expired.", "ExpiredSignatureError") from error
    except signing.BadSignature as error:
        raise InvalidToken("The token is not valid.") from error
    if not isinstance(data, dict):
        raise InvalidToken("The token does not describe a user or an app.")
    return Viewer.from_json(data)


def _token_max_age() -> timedelta:
    return get_setting("SALEOR_SMS_TOKEN_MAX_AGE")


# Browser sessions (the statistics page) ---------------------------------------------------

SESSION_COOKIE = "saleor_sms_session"
SESSION_SALT = "saleor_sms_plugin.auth.session"


def session_viewer(request: HttpRequest) -> Viewer:
    """The viewer of the signed session cookie (`ANONYMOUS` when there is none or it expired)."""
    raw = request.COOKIES.get(SESSION_COOKIE)
    if not raw:
        return ANONYMOUS
    try:
        return viewer_from_signed(raw, SESSION_SALT, _session_max_age())
    except InvalidToken:
        return ANONYMOUS


def start_session(request: HttpRequest, response: HttpResponse, viewer: Viewer, path: str) -> None:
    """Remember `viewer` in a signed cookie valid under `path` only.

    The cookie holds who the viewer is and the permissions it had, not the token: Saleor's
    access tokens live for minutes, a page should stay open longer. A permission withdrawn in
    Saleor takes effect when the session ends (`SALEOR_SMS_SESSION_MAX_AGE`, an hour by default).
    """
    max_age = _session_max_age()
    response.set_cookie(
        SESSION_COOKIE,
        signing.dumps(viewer.to_json(), salt=SESSION_SALT, compress=True),
        max_age=int(max_age.total_seconds()),
        path=path,
        secure=request.is_secure(),
        httponly=True,
        samesite="Strict",
    )


def end_session(response: HttpResponse, path: str) -> None:
    response.delete_cookie(SESSION_COOKIE, path=path, samesite="Strict")


def _session_max_age() -> timedelta:
    return get_setting("SALEOR_SMS_SESSION_MAX_AGE")


def describe(viewer: Viewer) -> str:
    """A short description for logs and pages: 'staff ada@example.com'."""
    return f"{viewer.kind.value} {viewer.email or viewer.name or viewer.id}".strip()
