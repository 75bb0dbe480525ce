"""Python (`keys/`) against the browser (`js/src/`) on the same random inputs.

Codenames, messages and envelope edges are where two implementations most
easily drift apart (Unicode case mapping and whitespace, JSON corner cases,
chunk boundaries), and a drift there means a reporter locked out of a
conversation, a message that means one thing to the browser and another to
the responder, or a damaged envelope one side opens. Each test builds up to
a few hundred inputs from a seeded generator, runs them through
`tests/unit/js_python_differential.mjs` under node and through `keys`, and
requires the same verdict: both accept with the same result (derived keys,
re-encoded message bytes, plaintext hash), or both refuse with the same
error class (and, for codenames, the same word position and count). Replay a
failure with DROP_DIFF_SEED=<seed shown in the assertion>.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import random
import shutil
import subprocess  # nosec B404 - fixed argv: node and files of this repository
from collections.abc import Callable
from pathlib import Path
from typing import Any

from keys import (
    CodenameError,
    KeysError,
    MessageError,
    ReplyKeyPair,
    ReplyPublicKey,
    decrypt,
    derive_codename,
    encrypt,
)
from keys.codename import wordlist
from keys.envelope import CHUNK_CIPHERTEXT_SIZE
from keys.messages import (
    AttachmentRef,
    FollowUp,
    Reply,
    Report,
    decode_message,
    encode_message,
)

REPO = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("js_python_differential.mjs")
SEED = int(os.environ.get("DROP_DIFF_SEED", "20261124"))
CASES = 300
# node is a build dependency (make sysdeps installs it): its absence is a failure, not a skip.
NODE = shutil.which("node") or "node"

# Every separator-like character worth confusing the two sides with: the
# White_Space set (those NFKC keeps and those it folds to U+0020) and the
# invisible characters that are NOT separators (U+200B, U+FEFF, U+180E, U+2060).
SEPARATORS = ("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2007\u200a\u2028\u2029"
              "\u202f\u205f\u3000")
NOT_SEPARATORS = "\u200b\ufeff\u180e\u2060\x1c\x1d\x1e\x1f"
SPACES = SEPARATORS + NOT_SEPARATORS
# Characters whose NFKC form or lowercase is (or contains) ASCII, or that look
# like it: fullwidth, ligatures, long s, Kelvin, dotted/dotless i, sigma,
# mathematical letters (astral), combining marks.
LOOKALIKES = {
    "a": ["\uff41", "\uff21", "\u24d0", "\U0001d41a", "\U0001d538", "\u00e1", "a\u0301", "\u00aa"],
    "e": ["\uff45", "\u212f", "\u00e9", "e\u0301", "\u1d49"],
    "f": ["\ufb00", "\uff46"],
    "i": ["\u0131", "\u0130", "\uff49", "\u2139", "\u2170", "i\u0307", "\ufb01"],
    "k": ["K", "\uff4b", "\U0001d424"],
    "l": ["\u2113", "\ufb02", "\u217c"],
    "s": ["\u017f", "\uff53", "\u00df", "\ufb06", "\u03a3"],
    "t": ["\ufb05", "\uff54", "\u1d57"],
    "-": ["\u2010", "\u2011", "\u2212", "\ufe63", "\uff0d", "\u00ad"],
}


def run_node(cases: list[dict[str, str]]) -> list[dict[str, Any]]:
    done = subprocess.run(  # nosec B603
        [NODE, "--import", "./js/test/support/text-loader.mjs", str(RUNNER)],
        input=json.dumps(cases), capture_output=True, text=True, cwd=REPO, timeout=120,
        check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    results: list[dict[str, Any]] = json.loads(done.stdout)
    assert len(results) == len(cases)
    return results


# --- codenames ----------------------------------------------------------------

def _respell(word: str, rng: random.Random) -> str:
    out = []
    for char in word:
        roll = rng.random()
        if char in LOOKALIKES and roll < 0.1:
            out.append(rng.choice(LOOKALIKES[char]))
        elif roll < 0.35:
            out.append(char.upper())
        elif roll < 0.38:
            out.append(chr(ord(char.upper()) + 0xFEE0) if char.isalpha() else char)
        else:
            out.append(char)
    return "".join(out)


def codename_input(rng: random.Random) -> str:
    words = list(wordlist())
    count = rng.choice([8] * 6 + [0, 1, 7, 9, 40])
    picked = [rng.choice(words) for _ in range(count)]
    if picked and rng.random() < 0.3:  # one of the four hyphenated words
        picked[rng.randrange(len(picked))] = rng.choice([w for w in words if "-" in w])
    pieces = [_respell(w, rng) if rng.random() < 0.15 else w for w in picked]
    seps = [rng.choice([" ", " ", rng.choice(SEPARATORS), rng.choice(SEPARATORS) * 3])
            if rng.random() < 0.97 else rng.choice(NOT_SEPARATORS)
            for _ in range(max(len(pieces) - 1, 0))]
    text = pieces[0] if pieces else ""
    for sep, piece in zip(seps, pieces[1:], strict=True):
        text += sep + piece
    roll = rng.random()
    if roll < 0.1:
        text = rng.choice(SPACES) + text + rng.choice(SPACES)
    elif roll < 0.15:  # around the length limit, counted in code points
        filler = rng.choice(["a", "\U0001d41a", " ", "\u3000"])
        text = text + " " + filler * max(0, rng.choice([255, 256, 257]) - len(text) - 1)
    elif roll < 0.18:
        text = text[:-1] + "\ud800" + text[-1:]  # a lone surrogate
    elif roll < 0.2:
        text = text.replace(" ", "\u200b", 1)
    return text


def python_codename(text: str) -> dict[str, Any]:
    try:
        derived = derive_codename(text)
    except CodenameError as exc:
        return {"ok": False, "error": "CodenameError", "position": exc.position,
                "count": exc.count}
    return {"ok": True, "login": derived.login_secret.hex(),
            "reply": str(derived.reply.public)}


# --- messages -----------------------------------------------------------------

def _base_message(rng: random.Random) -> bytes:
    reply_key = ReplyKeyPair(rng.randbytes(32)).public
    names = ["a.txt", "\u0444\u043e\u0442\u043e.jpg", "x" * 255, "\u00e9\u202e.png"]
    refs = tuple(AttachmentRef(name=rng.choice(names),
                               size=rng.choice([0, 1, 2**53 - 1]),
                               media_type="image/jpeg",
                               envelope_sha256=rng.randbytes(32).hex())
                 for _ in range(rng.randrange(3)))
    text = rng.choice(["", "hello", "\u00fcn\u00efc\u00f6d\u00e9 \U0001f600",
                       "line\nbreak\t\"quoted\" \\ /", "\u2028\u2029", "\x00\x1f\x7f",
                       "a" * rng.randrange(2000)])
    kind = rng.randrange(3)
    message: Report | FollowUp | Reply
    if kind == 0:
        message = Report(category=rng.choice(["other", "self_harm", "a-b"]),
                         urgency=rng.choice(["normal", "urgent", "emergency"]), text=text,
                         reply_key=reply_key, lang=rng.choice([None, "en", "pt-BR"]),
                         attachments=refs)
    elif kind == 1:
        message = FollowUp(text=text, attachments=refs)
    else:
        responder = rng.choice(["Ana", "\u00d0\u00f6rte \U0001f600", "x" * 64])
        message = Reply(text=text, responder=responder)
    return encode_message(message)


def _swap(old: str, new: str) -> Callable[[str], str]:
    return lambda text: text.replace(old, new, 1)


# Textual mutations of a valid message, each aimed at one corner of \u00a75.3.
MUTATIONS: tuple[Callable[[str], str], ...] = (
    lambda text: text,
    _swap('"v":1', '"v":1.0'), _swap('"v":1', '"v":-0'), _swap('"v":1', '"v":01'),
    _swap('"v":1', '"v":1e0'), _swap('"v":1', '"v":true'), _swap('"v":1', '"v":"1"'),
    _swap('"v":1', '"v":10000000000000001'), _swap('"v":1', '"v" : 1'),
    _swap('"v":1', '"v":1,"v":1'), _swap('"v":1', '"\\u0076":1'),
    _swap('"v":1', '"v":1,"__proto__":1'), _swap('"v":1', '"v":1,"pad":""'),
    _swap('"size":0', '"size":-0'), _swap('"size":0', '"size":0.0'),
    _swap('"size":0', '"size":9007199254740992'), _swap('"size":0', '"size":1E2'),
    _swap('"size":1', '"size":-1'), _swap('"size":1', '"size":true'),
    _swap('"size":9007199254740991', '"size":9007199254740993'),
    _swap('"text":"', '"text":"\\ud800'), _swap('"text":"', '"text":"\\udc00\\ud800'),
    _swap('"text":"', '"text":"\\ud83d\\ude00'), _swap('"text":"', '"text":"\\u0000'),
    _swap('"text":"', '"text":"\\x41'), _swap('"text":"', '"text":"\\U0041'),
    _swap('"text":"', '"text":"\\u00e9\\/'), _swap('"text":"', '"text":"\t'),
    _swap('"text":"', '"text":"\x7f'), _swap('"text":"', '"text":"\\u12'),
    _swap('"responder":"', '"responder":"\\u0085'), _swap('"responder":"', '"responder":"\\n'),
    _swap('"name":"', '"name":"\\u009f'), _swap('"name":"', '"name":"..\\\\'),
    _swap('"lang":null', '"lang":"en\\n"'), _swap('"lang":null', '"lang":"EN-gb"'),
    _swap('"lang":null', '"lang":"e\u0301n"'), _swap('"lang":null', '"lang":NaN'),
    _swap('"lang":null', '"lang":Infinity'), _swap('"lang":null', '"lang":-Infinity'),
    _swap('"lang":null', '"lang":nul'), _swap('"lang":null', '"lang":[[[[[[]]]]]]'),
    _swap('"category":"', '"category":"\\u0061'), _swap('"urgency":"', '"urgency":"\u212a'),
    _swap('"attachments":[', '"attachments":[' + "[" * 70 + "]" * 70 + ","),
    _swap('"attachments":[]', '"attachments":[],'), _swap('"attachments":[]', '"attachments":{}'),
    _swap('"pad":"', '"pad":"\\u0020'), _swap('"pad":"', '"pad":"\\t'),
    _swap('"pad":"', '"pad":"\u3000'),
    lambda text: "\ufeff" + text, lambda text: " \n\t\r" + text + " \r\n",
    lambda text: text + "\x00", lambda text: text + "\x0c", lambda text: text + "\u00a0",
    lambda text: text + "{}", lambda text: text[:-1], lambda text: text.replace(":", " : "),
    lambda text: "[" + text + "]", lambda text: text.replace(",", " ,\n"),
)


def _byte_mutation(data: bytes, rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.5:
        return data
    spot = rng.randrange(len(data))
    if roll < 0.7:  # a flipped bit anywhere: invalid UTF-8, broken JSON or altered values
        return data[:spot] + bytes([data[spot] ^ (1 << rng.randrange(8))]) + data[spot + 1:]
    if roll < 0.8:  # an encoded surrogate, an overlong form, a truncated sequence
        return data[:spot] + rng.choice([b"\xed\xa0\x80", b"\xc0\xaf", b"\xe2\x82",
                                         b"\xef\xbf\xbe"]) + data[spot:]
    return data[:spot]


def message_input(rng: random.Random) -> bytes:
    text = _base_message(rng).decode("utf-8")
    for _ in range(rng.choice([1, 1, 2])):
        text = rng.choice(MUTATIONS)(text)
    return _byte_mutation(text.encode("utf-8", "surrogatepass"), rng)


def python_message(data: bytes) -> dict[str, Any]:
    try:
        message = decode_message(data)
    except MessageError:
        return {"ok": False, "error": "MessageError", "position": None, "count": None}
    return {"ok": True, "reencoded": base64.b64encode(encode_message(message)).decode("ascii")}


# --- envelopes ----------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _seal(plaintext: bytes, recipients: list[ReplyPublicKey]) -> bytes:
    out = io.BytesIO()
    encrypt(io.BytesIO(plaintext), out, recipients)
    return out.getvalue()


def _chunk_starts(envelope: bytes) -> list[int]:
    """Where each payload chunk starts, from the envelope's own count byte."""
    start = 9 + 80 * envelope[8] + 32 + 24
    return list(range(start, len(envelope), CHUNK_CIPHERTEXT_SIZE))


def _mutate_envelope(data: bytes, other: bytes, rng: random.Random) -> bytes:
    starts = _chunk_starts(data)
    near_edge = rng.choice([*starts, len(data)]) + rng.choice([-18, -17, -16, -1, 0, 1, 16, 17])
    roll = rng.randrange(10)
    if roll == 0:
        return data
    if roll == 1:  # cut at or near a chunk boundary, or anywhere
        return data[:max(0, rng.choice([near_edge, rng.randrange(len(data) + 1)]))]
    if roll == 2:  # bytes after the end: a few, or a whole chunk of another stream
        return data + rng.choice([rng.randbytes(rng.randrange(1, 20)), other[starts[0]:]])
    if roll == 3:  # a flipped bit anywhere, or in a chunk's tag byte
        spot = rng.choice([rng.randrange(len(data)), rng.choice(starts)])
        return data[:spot] + bytes([data[spot] ^ (1 << rng.randrange(8))]) + data[spot + 1:]
    if roll == 4 and len(starts) > 1:  # a chunk dropped
        i = rng.randrange(len(starts))
        return data[:starts[i]] + data[starts[i] + CHUNK_CIPHERTEXT_SIZE:]
    if roll == 5 and len(starts) > 1:  # the first two chunks swapped
        a, b, end = starts[0], starts[1], starts[1] + CHUNK_CIPHERTEXT_SIZE
        return data[:a] + data[b:end] + data[a:b] + data[end:]
    if roll == 6:  # the count byte off by one
        return data[:8] + bytes([(data[8] + rng.choice([-1, 1])) % 256]) + data[9:]
    if roll == 7:  # this header, the other envelope's payload
        return data[:starts[0] - 24] + other[_chunk_starts(other)[0] - 24:]
    return data[:starts[0]] + rng.randbytes(rng.randrange(0, 40))


def test_envelopes_agree() -> None:
    rng = random.Random(SEED + 2)
    me = ReplyKeyPair(rng.randbytes(32))
    others = [ReplyKeyPair(rng.randbytes(32)).public for _ in range(3)]
    sizes = [0, 1, 100, 65535, 65536, 65537, 131072, 131073]
    cases, expected = [], []
    for _ in range(CASES // 3):
        recipients = [*rng.sample(others, rng.randrange(3)), me.public]
        if rng.random() < 0.1:  # sealed to others only
            recipients = rng.sample(others, rng.randrange(1, 4))
        rng.shuffle(recipients)
        size = rng.choice(sizes)
        data = _seal(rng.randbytes(size), recipients)
        other = _seal(rng.randbytes(rng.choice(sizes)), [me.public])
        envelope = _mutate_envelope(data, other, rng)
        sink = io.BytesIO()
        try:
            decrypt(io.BytesIO(envelope), sink, me)
            verdict: dict[str, Any] = {
                "ok": True, "sha256": hashlib.sha256(sink.getvalue()).hexdigest()}
        except KeysError as exc:
            assert sink.getvalue() == b""  # nothing released on failure
            verdict = {"ok": False, "error": type(exc).__name__, "position": None,
                       "count": None}
        cases.append({"input": _b64(envelope), "secret": me.box_secret.hex()})
        expected.append(verdict)
    errors = {r.get("error") for r in expected}
    assert {"HeaderError", "NoIdentityMatch", "PayloadError", None} <= errors
    _compare("envelope", cases, expected)


# --- the comparisons ----------------------------------------------------------

def _compare(kind: str, cases: list[dict[str, str]], expected: list[dict[str, Any]]) -> None:
    actual = run_node([{"kind": kind, **case} for case in cases])
    for index, (given, want, got) in enumerate(zip(cases, expected, actual, strict=True)):
        shown = repr(given["input"])[:300]
        assert got == want, (f"{kind} case {index} (DROP_DIFF_SEED={SEED}) differs for "
                             f"{shown}: Python {want}, JS {got}")


def test_codenames_agree() -> None:
    rng = random.Random(SEED)
    inputs = [codename_input(rng) for _ in range(CASES)]
    expected = [python_codename(text) for text in inputs]
    # The generator must reach both sides of the verdict, or it tests nothing.
    assert sum(r["ok"] for r in expected) > CASES // 8
    assert sum(not r["ok"] and r["position"] is not None for r in expected) > CASES // 20
    _compare("codename", [{"input": text} for text in inputs], expected)


def test_messages_agree() -> None:
    rng = random.Random(SEED + 1)
    inputs = [message_input(rng) for _ in range(CASES)]
    expected = [python_message(data) for data in inputs]
    assert sum(r["ok"] for r in expected) > CASES // 8
    assert sum(not r["ok"] for r in expected) > CASES // 5
    _compare("message", [{"input": _b64(data)} for data in inputs], expected)
