"""The `responder` blueprint object, shared by the view modules."""

from __future__ import annotations

import re

from flask import Blueprint

api = Blueprint("responder", __name__, url_prefix="/api/v1")
ID_PATTERN = re.compile(r"[0-9a-f]{32}")

# Views that read `request.stream` themselves and so get no small-body cap.
STREAMING_ENDPOINTS = frozenset({"responder.upload_reply"})
