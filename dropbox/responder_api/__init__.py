"""The responder API (FORMAT.md §9): a blueprint whose every view assumes a verified signature.

    auth.py      request signatures, nonces, the one 401
    items.py     list / download / delete envelopes, counts, keyring
    replies.py   upload signed replies, list a reporter's replies
"""

from __future__ import annotations

from dropbox.responder_api import items, replies
from dropbox.responder_api.blueprint import STREAMING_ENDPOINTS, api

__all__ = ["STREAMING_ENDPOINTS", "api", "items", "replies"]
