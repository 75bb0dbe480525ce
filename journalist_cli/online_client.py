"""The networked workstation's HTTP client: every request signed with the online key.

This module never sees an identity: it is given a `keys.OnlineSigningKey`,
which can sign requests until it expires and can decrypt nothing. Through Tor,
`socks` makes requests resolve names in the proxy (socks5h), so the onion
address never touches a local resolver.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlencode, urlsplit

import requests

import keys
from journalist_cli import api_answers
from journalist_cli.errors import AuthError, BadInputError, JournalistError, NetworkError

EMPTY_SHA256 = hashlib.sha256(b"").digest()
CHUNK = 64 * 1024


def load_online_key(key_file: str | None) -> keys.OnlineSigningKey:
    """The online key from `key_file`, $JOURNALIST_ONLINE_KEY, in that order.

    Raises JournalistError with a hint when neither is set, KeysError when malformed.
    """
    if key_file:
        text = Path(key_file).read_text(encoding="ascii", errors="replace")
    elif os.environ.get("JOURNALIST_ONLINE_KEY"):
        text = os.environ["JOURNALIST_ONLINE_KEY"]
    else:
        raise JournalistError("no online key", hint="set JOURNALIST_ONLINE_KEY_FILE (or "
                              "JOURNALIST_ONLINE_KEY) to what `journalist export-online-key` "
                              "printed on the air-gapped workstation")
    return keys.OnlineSigningKey.from_secret_string(text.strip())


def _is_onion(host: str) -> bool:
    host = host.rstrip(".")  # `x.onion.` is the same name, fully qualified
    return host == "onion" or host.endswith(".onion")


class ApiClient:
    """Signed requests to one drop's responder API (FORMAT.md §7, §9).

    The endpoint methods return checked, typed answers (`api_answers`); any
    other shape raises NetworkError.
    """

    def __init__(self, server: str, key: keys.OnlineSigningKey, socks: str | None = None,
                 timeout: float = 120.0) -> None:
        """Raises BadInputError for an address that is not http(s)://HOST[:PORT], and
        for an onion address without `socks`, before any name is looked up."""
        parts = urlsplit(server)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise BadInputError(f"{server!r} is not a server address like http://HOST:PORT")
        if not socks and _is_onion(parts.hostname or ""):
            # RFC 7686: without Tor the onion name would go to this machine's DNS
            # resolver, telling whoever runs it which drop this machine uses.
            raise BadInputError(f"{server!r} is an onion address, and only Tor can reach it",
                                hint="add --socks 127.0.0.1:9050 (or set JOURNALIST_SOCKS) "
                                     "so that Tor resolves the name, not this machine's DNS")
        self.base = f"{parts.scheme}://{parts.netloc}"
        self.key = key
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy from the environment: only --socks
        if socks:
            proxy = f"socks5h://{socks}"
            self.session.proxies = {"http": proxy, "https": proxy}

    def close(self) -> None:
        """Close pooled connections (the command is done with the server)."""
        self.session.close()

    def request(self, method: str, path: str, params: Mapping[str, str | int] | None = None,
                body: bytes = b"", headers: Mapping[str, str] | None = None,
                stream: bool = False) -> requests.Response:
        """Send one signed request; raise AuthError on 401, NetworkError when unreachable."""
        path_query = path + (f"?{urlencode(sorted(params.items()))}" if params else "")
        signed = keys.sign_request(self.key, method, path_query, hashlib.sha256(body).digest(),
                                   int(time.time()), secrets.token_urlsafe(24))
        try:
            response = self.session.request(
                method, self.base + path_query, data=body or None, stream=stream,
                headers={**signed, **(headers or {})}, timeout=self.timeout,
                allow_redirects=False)
        except requests.RequestException as exc:
            raise NetworkError(f"could not reach {self.base}: {type(exc).__name__}",
                               hint="check --server, --socks and that tor is running") from None
        if response.status_code == 401:
            raise AuthError("the server refused our signature",
                            hint="the online key may have expired (make a new one with "
                                 "`journalist export-online-key`), its responder may not be "
                                 "in the keyring, or this machine's clock is off")
        return response

    def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        response = self.request("GET", path, params)
        return self.json_of(response)

    def post_json(self, path: str) -> tuple[int, Any]:
        response = self.request("POST", path)
        return response.status_code, self.json_of(response, allow_error=True)

    @staticmethod
    def json_of(response: requests.Response, allow_error: bool = False) -> Any:
        if response.status_code >= 400 and not allow_error:
            raise NetworkError(f"the server answered {response.status_code} "
                               f"for {response.request.path_url.split('?')[0]}")
        try:
            return response.json()
        except ValueError:
            raise NetworkError("the server's answer is not JSON") from None

    def list_items(self, after: int, limit: int) -> api_answers.ItemPage:
        """One page of envelopes listed after cursor `after`, at most `limit` of them."""
        return api_answers.item_page(
            self.get_json("/api/v1/items", {"after": after, "limit": limit}), limit)

    def counts(self, after: int) -> api_answers.Counts:
        """How many messages and emergencies arrived after cursor `after`."""
        return api_answers.counts(self.get_json("/api/v1/counts", {"after": after}))

    def keyring(self) -> tuple[tuple[str, str], ...]:
        """The server's keyring as (name, public key) strings, for information."""
        return api_answers.keyring(self.get_json("/api/v1/keyring"))

    def replies_on_server(self, reporter_id: str) -> tuple[str, ...] | None:
        """Ids of the replies the server holds for `reporter_id`; None if it is gone."""
        response = self.request("GET", f"/api/v1/replies/{reporter_id}")
        if response.status_code == 404:
            return None
        return api_answers.reply_ids(self.json_of(response), reporter_id)

    def delete(self, path: str) -> tuple[int, str | None]:
        """POST a deletion (`path` of FORMAT.md §9); return (status, server's reason)."""
        status, answer = self.post_json(path)
        if status == 200:
            api_answers.deletion(answer)
            return status, None
        return status, api_answers.refusal_reason(answer)

    def download(self, item_id: str, size: int, dst: BinaryIO,
                 progress: Callable[[int], None]) -> str | None:
        """Stream envelope `item_id` into `dst`; return its SHA-256 hex, None if it is gone.

        Raises NetworkError if the server sends more or fewer bytes than `size`.
        """
        response = self.request("GET", f"/api/v1/items/{item_id}", stream=True)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise NetworkError(f"the server answered {response.status_code} for {item_id}")
        digest = hashlib.sha256()
        received = 0
        with response:
            for chunk in response.iter_content(CHUNK):
                received += len(chunk)
                if received > size:
                    raise NetworkError(f"the server sent more than {size} bytes for {item_id}")
                digest.update(chunk)
                dst.write(chunk)
                progress(len(chunk))
        if received != size:
            raise NetworkError(f"envelope {item_id} arrived cut short; run fetch again")
        return digest.hexdigest()

    def upload_reply(self, params: Mapping[str, str],
                     envelope: bytes) -> tuple[int, str | None]:
        """POST one reply envelope; return (status, the server's reason for a refusal).

        The reason is the server's own text: print it through `escape_terminal`.
        """
        response = self.request(
            "POST", "/api/v1/replies", params, body=envelope,
            headers={"X-Drop-Body-SHA256": hashlib.sha256(envelope).hexdigest(),
                     "Content-Type": "application/octet-stream"})
        answer = self.json_of(response, allow_error=True)
        return response.status_code, api_answers.refusal_reason(answer)
