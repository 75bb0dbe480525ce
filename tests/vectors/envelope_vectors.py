"""Envelope vectors (FORMAT.md §2), built byte by byte from libsodium primitives."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from nacl import bindings as sodium

from keys.kdf import hkdf_sha256, hmac_sha256
from keys.types import ReplyKeyPair, ResponderIdentity

Case = tuple[str, list[tuple[str, str]], bytes]

MAGIC = b"DROPENV"
CHUNK = 65536
MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
PUSH = sodium.crypto_secretstream_xchacha20poly1305_TAG_PUSH
REKEY = sodium.crypto_secretstream_xchacha20poly1305_TAG_REKEY
FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
LOW_ORDER_POINT = bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")


def det(label: str, size: int = 32) -> bytes:
    """Fixed pseudo-random bytes for `label`."""
    return hashlib.shake_256(b"drop/v1 test vectors\x00" + label.encode()).digest(size)


ALICE = ResponderIdentity(det("alice x25519"), det("alice ed25519"))
BOB = ResponderIdentity(det("bob x25519"), det("bob ed25519"))
REPLY = ReplyKeyPair(det("reporter reply"))
ALICE_LINE = ("identity", ALICE.to_secret_string())
REPLY_LINE = ("reply-secret", REPLY.box_secret.hex())


def others(count: int) -> list[bytes]:
    return [sodium.crypto_scalarmult_base(det(f"other recipient {i}")) for i in range(count)]


def stanza(file_key: bytes, recipient: bytes, label: str) -> bytes:
    """crypto_box_seal with a chosen ephemeral key."""
    esk = det(f"{label} ephemeral")
    epk = sodium.crypto_scalarmult_base(esk)
    nonce = hashlib.blake2b(epk + recipient, digest_size=24).digest()
    sealed = epk + sodium.crypto_box(file_key, nonce, recipient, esk)
    assert len(sealed) == 80
    return sealed


def mac_for(file_key: bytes, body: bytes) -> bytes:
    return hmac_sha256(hkdf_sha256(file_key, b"", b"drop/v1 header-mac", 32), body)


def payload_key(file_key: bytes) -> bytes:
    return hkdf_sha256(file_key, b"", b"drop/v1 payload", 32)


def header(file_key: bytes, stanzas: list[bytes], *, version: int = 1,
           count: int | None = None) -> bytes:
    body = MAGIC + bytes([version, len(stanzas) if count is None else count]) + b"".join(stanzas)
    return body + mac_for(file_key, body)


def stream(key: bytes, chunks: list[tuple[bytes, int]], label: str) -> bytes:
    """A secretstream with a chosen header (init_pull sets up the same state as init_push)."""
    ss_header = det(f"{label} secretstream header", 24)
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, ss_header, key)
    return ss_header + b"".join(
        sodium.crypto_secretstream_xchacha20poly1305_push(state, m, tag=t) for m, t in chunks)


def standard_chunks(plaintext: bytes) -> list[tuple[bytes, int]]:
    pieces = [plaintext[i:i + CHUNK] for i in range(0, len(plaintext), CHUNK)] or [b""]
    return [(p, FINAL if i == len(pieces) - 1 else MESSAGE) for i, p in enumerate(pieces)]


def envelope(plaintext: bytes, recipients: list[bytes], label: str) -> bytes:
    file_key = det(f"{label} file key")
    stanzas = [stanza(file_key, pk, f"{label} stanza {i}") for i, pk in enumerate(recipients)]
    return header(file_key, stanzas) + stream(
        payload_key(file_key), standard_chunks(plaintext), label)


def plaintext_of(size: int, label: str) -> bytes:
    return det(f"{label} plaintext", size) if size else b""


def success(name: str, size: int, recipients: list[bytes], comment: str,
            identity: tuple[str, str] = ALICE_LINE) -> Case:
    data = plaintext_of(size, name)
    return (name, [("expect", "success"), identity,
                   ("payload", hashlib.sha256(data).hexdigest()), ("comment", comment)],
            envelope(data, recipients, name))


def failure(name: str, expect: str, body: bytes, comment: str,
            identity: tuple[str, str] = ALICE_LINE) -> Case:
    return (name, [("expect", expect), identity, ("comment", comment)], body)


def flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1:]


def envelope_cases() -> Iterator[Case]:
    a = ALICE.public.box_key
    yield from success_cases(a)
    yield from header_cases(a)
    yield from payload_cases(a)


def success_cases(a: bytes) -> Iterator[Case]:
    for size in (0, 1, 100, 65535, 65536, 65537, 131072, 131073):
        yield success(f"success_{size}_bytes", size, [a],
                      f"one recipient, {size}-byte plaintext")
    yield success("success_ours_last", 1000, [*others(2), a], "three recipients, ours is last")
    yield success("success_ours_first", 1000, [a, *others(2)], "three recipients, ours is first")
    yield success("success_32_recipients", 10, [*others(20), a, *others(31)[20:]],
                  "32 recipients (the maximum), ours is 21st")
    yield success("success_reply_key", 500, [REPLY.public.box_key],
                  "sealed to a reporter reply key", REPLY_LINE)
    low = LOW_ORDER_POINT + det("low order stanza body", 48)
    name = "success_low_order_stanza_skipped"
    file_key = det(f"{name} file key")
    data = plaintext_of(10, name)
    body = header(file_key, [low, stanza(file_key, a, name)]) + stream(
        payload_key(file_key), standard_chunks(data), name)
    yield (name, [("expect", "success"), ALICE_LINE, ("payload", hashlib.sha256(data).hexdigest()),
                  ("comment", "a stanza with a low-order ephemeral key is skipped, ours opens")],
           body)


def header_cases(a: bytes) -> Iterator[Case]:
    good = envelope(b"hello", [a], "header base")
    two = envelope(b"hello", [*others(1), a], "header two recipients")
    yield failure("header_empty_file", "header failure", b"", "zero bytes")
    for cut, where in ((3, "inside magic"), (7, "after magic"), (8, "after version"),
                       (9, "after count"), (50, "inside the stanza"), (89, "after the stanza"),
                       (100, "inside the MAC")):
        yield failure(f"header_truncated_{cut}", "header failure", good[:cut],
                      f"header cut short {where}")
    yield failure("header_bad_magic", "header failure", b"DROPENW" + good[7:], "wrong magic")
    yield failure("header_lowercase_magic", "header failure", b"dropenv" + good[7:],
                  "magic in lowercase")
    for version in (0, 2, 255):
        name = f"header_version_{version}"
        file_key = det(f"{name} file key")
        body = header(file_key, [stanza(file_key, a, name)], version=version)
        yield failure(name, "header failure",
                      body + stream(payload_key(file_key), [(b"x", FINAL)], name),
                      f"version {version} (only 1 exists); MAC is valid")
    file_key = det("count 0 file key")
    yield failure("header_count_0", "header failure",
                  header(file_key, []) + stream(payload_key(file_key), [(b"x", FINAL)], "c0"),
                  "count 0")
    file_key = det("count 33 file key")
    stanzas = [stanza(file_key, pk, f"c33 {i}") for i, pk in enumerate([a, *others(32)])]
    yield failure("header_count_33", "header failure",
                  header(file_key, stanzas) + stream(payload_key(file_key), [(b"x", FINAL)], "c33"),
                  "count 33 with 33 stanzas present, ours first")
    file_key = det("count short file key")
    body = header(file_key, [stanza(file_key, a, "count short")], count=3)
    yield failure("header_count_exceeds_input", "header failure",
                  body + stream(payload_key(file_key), [(b"", FINAL)], "count short"),
                  "count 3 but one stanza; the input ends before 3 stanzas and a MAC")
    name = "header_count_exceeds_stanzas"
    file_key = det(f"{name} file key")
    body = header(file_key, [stanza(file_key, a, name)], count=2)
    yield failure(name, "header failure",
                  body + stream(payload_key(file_key), [(plaintext_of(300, name), FINAL)], name),
                  "count 2 but one stanza: MAC and payload bytes are read as header, MAC fails")
    name = "header_count_below_stanzas"
    file_key = det(f"{name} file key")
    body = header(file_key, [stanza(file_key, a, name), *[stanza(file_key, o, name)
                                                            for o in others(1)]], count=1)
    yield failure(name, "header failure",
                  body + stream(payload_key(file_key), [(b"hi", FINAL)], name),
                  "count 1 but two stanzas: the second stanza is read as the MAC")
    yield failure("header_mac_flipped", "header failure", flip(good, 9 + 80 + 5),
                  "one bit of the MAC flipped")
    yield failure("header_other_stanza_flipped", "header failure", flip(two, 9 + 40),
                  "the other recipient's stanza altered: ours opens, the MAC fails")
    yield failure("header_stanza_from_other_envelope", "header failure",
                  good[:9] + envelope(b"hello", [a], "donor")[9:89] + good[89:],
                  "our stanza replaced by ours from another envelope (other file key): MAC fails")
    name = "header_mac_with_file_key"
    file_key = det(f"{name} file key")
    body = MAGIC + bytes([1, 1]) + stanza(file_key, a, name)
    yield failure(name, "header failure",
                  body + hmac_sha256(file_key, body)
                  + stream(payload_key(file_key), [(b"x", FINAL)], name),
                  "MAC keyed with the file key itself instead of the derived MAC key")
    yield failure("no_match_wrong_identity", "no match", good,
                  "sealed to another responder", ("identity", BOB.to_secret_string()))
    yield failure("no_match_responder_for_reply", "no match",
                  envelope(b"reply", [REPLY.public.box_key], "reply only"),
                  "sealed to a reply key, opened with a responder identity")
    yield failure("no_match_reply_for_responder", "no match", good,
                  "sealed to a responder, opened with a reply key", REPLY_LINE)
    yield failure("no_match_stanza_flipped", "no match", flip(good, 9 + 50),
                  "our only stanza altered: it no longer opens")
    name = "no_match_low_order_epk"
    file_key = det(f"{name} file key")
    low = LOW_ORDER_POINT + det(f"{name} body", 48)
    yield failure(name, "no match", header(file_key, [low])
                  + stream(payload_key(file_key), [(b"x", FINAL)], name),
                  "the only stanza has a low-order ephemeral key")


def payload_cases(a: bytes) -> Iterator[Case]:
    def build(name: str, chunks: list[tuple[bytes, int]], *, tail: bytes = b"",
              cut: int = 0, expect: str = "payload failure", comment: str) -> Case:
        file_key = det(f"{name} file key")
        body = header(file_key, [stanza(file_key, a, name)]) + stream(
            payload_key(file_key), chunks, name) + tail
        return failure(name, expect, body[:len(body) - cut], comment)

    big = plaintext_of(2 * CHUNK + 10, "payload big")
    c0, c1, c2 = big[:CHUNK], big[CHUNK:2 * CHUNK], big[2 * CHUNK:]
    yield build("payload_truncated_final_chunk", [(c0, MESSAGE), (c2, FINAL)], cut=1,
                comment="last byte of the final chunk missing")
    yield build("payload_final_chunk_cut_to_16", [(c0, MESSAGE), (b"abc", FINAL)], cut=4,
                comment="after a full chunk, a final chunk of only 16 bytes (under the overhead)")
    yield build("payload_missing_final", [(c0, MESSAGE)],
                comment="the stream ends after a full MESSAGE chunk")
    yield build("payload_missing_final_two", [(c0, MESSAGE), (c1, MESSAGE)],
                comment="the stream ends after two full MESSAGE chunks")
    yield build("payload_short_last_message", [(b"abc", MESSAGE)],
                comment="the only chunk is short and tagged MESSAGE, not FINAL")
    yield build("payload_final_then_data", [(c0, FINAL), (c2, FINAL)],
                comment="a full chunk tagged FINAL followed by another chunk")
    yield build("payload_extra_byte", [(b"hello", FINAL)], tail=b"\x00",
                comment="one byte after the final chunk")
    yield build("payload_extra_byte_after_full", [(c0, FINAL)], tail=b"\x00",
                comment="one byte after a full final chunk")
    yield build("payload_empty_final_after_full", [(c0, MESSAGE), (b"", FINAL)],
                comment="an empty FINAL chunk after a full chunk (encoders never do this)")
    yield build("payload_rekey_tag", [(b"hello", REKEY)], comment="only chunk tagged REKEY")
    yield build("payload_push_tag", [(b"hello", PUSH)], comment="only chunk tagged PUSH")
    yield build("payload_rekey_tag_middle", [(c0, REKEY), (c2, FINAL)],
                comment="first full chunk tagged REKEY")
    yield build("payload_push_tag_middle", [(c0, PUSH), (c2, FINAL)],
                comment="first full chunk tagged PUSH")
    yield build("payload_short_nonfinal_chunk", [(b"x" * 1000, MESSAGE), (c2, FINAL)],
                comment="a 1000-byte MESSAGE chunk before the final chunk")
    yield build("payload_only_ss_header", [], comment="secretstream header and no chunk")
    yield build("payload_absent", [], cut=24, comment="the header is complete, no payload")
    yield build("payload_40_bytes", [(b"", FINAL)], cut=1,
                comment="payload of 40 bytes, one short of the minimum 41")

    name = "payload_reordered_chunks"
    file_key = det(f"{name} file key")
    body = stream(payload_key(file_key), [(c0, MESSAGE), (c1, MESSAGE), (c2, FINAL)], name)
    first, second = body[24:24 + CHUNK + 17], body[24 + CHUNK + 17:24 + 2 * (CHUNK + 17)]
    swapped = body[:24] + second + first + body[24 + 2 * (CHUNK + 17):]
    yield failure(name, "payload failure",
                  header(file_key, [stanza(file_key, a, name)]) + swapped,
                  "first two chunks swapped")

    name = "payload_chunk_from_other_stream"
    file_key = det(f"{name} file key")
    body = stream(payload_key(file_key), [(c0, MESSAGE), (c2, FINAL)], name)
    other = stream(payload_key(file_key), [(c0, MESSAGE), (c2, FINAL)], f"{name} other")
    mixed = body[:24 + CHUNK + 17] + other[24 + CHUNK + 17:]
    yield failure(name, "payload failure",
                  header(file_key, [stanza(file_key, a, name)]) + mixed,
                  "final chunk taken from another stream with the same key, other header")

    good = envelope(b"hello world", [a], "payload base")
    yield failure("payload_ss_header_flipped", "payload failure", flip(good, 121 + 3),
                  "one bit of the secretstream header flipped")
    yield failure("payload_ciphertext_flipped", "payload failure", flip(good, len(good) - 20),
                  "one bit of the final chunk's ciphertext flipped")
    yield failure("payload_tag_flipped", "payload failure", flip(good, len(good) - 1),
                  "one bit of the final chunk's authentication tag flipped")
    name = "payload_wrong_key"
    file_key = det(f"{name} file key")
    yield failure(name, "payload failure",
                  header(file_key, [stanza(file_key, a, name)])
                  + stream(hkdf_sha256(file_key, b"", b"drop/v1 header-mac", 32),
                           [(b"hello", FINAL)], name),
                  "payload encrypted with the MAC key instead of the payload key")
