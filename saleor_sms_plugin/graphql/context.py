"""What every resolver knows about the request: who asks, and through which channel's route."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.http import HttpRequest
from django.utils import timezone

from ..auth import Viewer
from ..conf import ChannelSettings


@dataclass
class Context:
    request: HttpRequest
    viewer: Viewer
    # The channel whose route served the request: the default where a channel is optional.
    channel: ChannelSettings
    now: datetime = field(default_factory=timezone.now)
