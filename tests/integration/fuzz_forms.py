"""Hypothesis strategies and properties for fuzzing the reporter app's form handling.

Shared by tests/integration/test_reliability_fuzz.py (profile `drop-fast`,
part of `make test`) and tests/soak/test_soak_fuzz.py (profile `drop-big`,
over a million inputs in all, `make soak` only).

Bodies start from a plausible form (a valid CSRF token or not, text fields,
file parts, envelope parts) and are then damaged: cut short, bytes flipped or
inserted, line ends changed, the closing boundary dropped, the Content-Type
header wrong. Whatever arrives, the app must answer below 500 and keep
nothing of a refused request.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

settings.register_profile(
    "drop-fast", max_examples=150, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "drop-big", max_examples=200_000, deadline=None, database=None,
    suppress_health_check=list(HealthCheck),
)
FAST = settings.get_profile("drop-fast")
BIG = settings.get_profile("drop-big")

FIELD_NAMES = ("csrf_token", "mode", "website", "category", "urgency", "text", "lang",
               "reply_key", "login_secret", "emergency", "attachments", "report", "attachment")
ENVELOPE_HEAD = b"DROPENV\x01\x01"
# In fields and files: whatever the app keeps of a body, this must not be in it in clear.
MARKER = b"FUZZ-PLAINTEXT-5d0c81e2"


@dataclass(frozen=True)
class FuzzPart:
    name: str
    filename: str | None
    content: bytes
    content_type: str | None


@dataclass(frozen=True)
class FuzzBody:
    with_token: bool
    parts: tuple[FuzzPart, ...]
    mutation: tuple[str, int, bytes]
    header_kind: str
    accept_json: bool

    def encode(self, token: str, boundary: str) -> tuple[bytes, str]:
        """The (body, Content-Type) this example sends."""
        chunks = []
        parts = self.parts
        if self.with_token:
            parts = (FuzzPart("csrf_token", None, token.encode(), None), *parts)
        for part in parts:
            disposition = f'form-data; name="{part.name}"'
            if part.filename is not None:
                disposition += f'; filename="{part.filename}"'
            head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
            if part.content_type is not None:
                head += f"Content-Type: {part.content_type}\r\n"
            chunks.append(head.encode("utf-8", "surrogateescape") + b"\r\n" + part.content
                          + b"\r\n")
        chunks.append(f"--{boundary}--\r\n".encode())
        body = mutate(b"".join(chunks), self.mutation)
        content_type = {
            "good": f"multipart/form-data; boundary={boundary}",
            "quoted": f'multipart/form-data; boundary="{boundary}"',
            "no-boundary": "multipart/form-data",
            "other-boundary": "multipart/form-data; boundary=not-the-one",
            "urlencoded": "application/x-www-form-urlencoded",
            "non-ascii": "multipart/form-data; boundary=gr\u00fc\u00dfe",
            "empty": "",
        }[self.header_kind]
        return body, content_type


def mutate(body: bytes, mutation: tuple[str, int, bytes]) -> bytes:
    kind, where, data = mutation
    at = where % (len(body) + 1)
    if kind == "truncate":
        return body[:at]
    if kind == "insert":
        return body[:at] + data + body[at:]
    if kind == "flip" and body:
        index = where % len(body)
        return body[:index] + bytes([body[index] ^ 0xFF]) + body[index + 1:]
    if kind == "lf-only":
        return body.replace(b"\r\n", b"\n")
    if kind == "no-closing":
        return body[: body.rfind(b"--")] if b"--" in body else body
    return body


field_values = st.one_of(
    st.sampled_from([b"", b"sealed", b"threats", b"emergency", b"urgent", b"0", b"1", b"en",
                     MARKER, b"about " + MARKER * 3]),
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8")),
)
file_contents = st.one_of(
    st.binary(max_size=3000),
    st.binary(max_size=300).map(lambda b: b + MARKER * 40 + b),
    st.binary(max_size=400).map(lambda b: ENVELOPE_HEAD + b),
    st.binary(min_size=80 + 32 + 41, max_size=400).map(lambda b: ENVELOPE_HEAD + b),
)
parts = st.builds(
    FuzzPart,
    name=st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=20)),
    filename=st.one_of(st.none(), st.sampled_from(["", "a.txt", "../../etc/passwd"]),
                       st.text(max_size=30)),
    content=st.one_of(field_values, file_contents),
    content_type=st.one_of(st.none(), st.sampled_from(
        ["text/plain", "application/octet-stream", "multipart/mixed; boundary=x"])),
)
bodies = st.builds(
    FuzzBody,
    with_token=st.booleans(),
    parts=st.lists(parts, max_size=8).map(tuple),
    mutation=st.tuples(
        st.sampled_from(["none", "truncate", "insert", "flip", "lf-only", "no-closing"]),
        st.integers(min_value=0, max_value=10_000),
        st.binary(min_size=1, max_size=40),
    ),
    header_kind=st.sampled_from(
        ["good", "good", "good", "quoted", "no-boundary", "other-boundary", "urlencoded",
         "non-ascii", "empty"]),
    accept_json=st.booleans(),
)
