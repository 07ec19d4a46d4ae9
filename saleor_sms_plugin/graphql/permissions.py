"""Permission checks, failing the way Saleor's API fails: a GraphQL error whose
`extensions.exception.code` is `PermissionDenied`, and no data for the field."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from ..auth import REQUIRED_PERMISSIONS
from .context import Context


class PermissionDenied(Exception):
    code = "PermissionDenied"

    def __init__(self, permissions: Iterable[str] = REQUIRED_PERMISSIONS) -> None:
        self.permissions = [str(permission) for permission in permissions]
        super().__init__(
            "To access this path, you need one of the following permissions: "
            + ", ".join(self.permissions)
        )


def check_permission(context: Context) -> None:
    """Raise PermissionDenied unless a staff user or an app holds one of the permissions."""
    if not context.viewer.may_manage_texts:
        raise PermissionDenied()


def permission_required[Resolver: Callable[..., Any]](resolver: Resolver) -> Resolver:
    """Guard a root field: the resolver runs only for viewers who may manage texts."""

    @functools.wraps(resolver)
    def guarded(root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        check_permission(info.context)
        return resolver(root, info, *args, **kwargs)

    return guarded  # type: ignore[return-value]
