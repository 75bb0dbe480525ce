"""Codename, key-string and message vectors (FORMAT.md §3, §4, §5)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

from envelope_vectors import ALICE, LOW_ORDER_POINT, REPLY, Case, det
from nacl import bindings as sodium

from keys.codename import wordlist
from keys.encoding import encode_key_string
from keys.kdf import hkdf_sha256
from keys.online import OnlineCertificate

SMALL_ORDER_HIGH_BIT = bytes.fromhex(
    "0100000000000000000000000000000000000000000000000000000000000080")


def pick_words(label: str, count: int = 8) -> list[str]:
    words = wordlist()
    stream = det(label, 4 * count)
    return [words[int.from_bytes(stream[4 * i:4 * i + 4], "big") % len(words)]
            for i in range(count)]


def codename_success(name: str, typed: str, canonical: str, comment: str) -> Case:
    c = canonical.encode()
    login = hkdf_sha256(c, b"drop/v1 codename", b"drop/v1 login", 32)
    seed = hkdf_sha256(c, b"drop/v1 codename", b"drop/v1 reply-key", 32)
    reply_pk = sodium.crypto_scalarmult_base(seed)
    return (name, [("expect", "success"), ("normalized", canonical),
                   ("login-secret", login.hex()), ("reply-secret", seed.hex()),
                   ("reply-pk", reply_pk.hex()),
                   ("reply-key", encode_key_string("drop-reply-", reply_pk)),
                   ("comment", comment)], typed.encode("utf-8"))


def codename_failure(name: str, typed: str, comment: str, position: int | None = None) -> Case:
    headers = [("expect", "codename failure")]
    if position is not None:
        headers.append(("position", str(position)))
    return (name, [*headers, ("comment", comment)], typed.encode("utf-8"))


def codename_cases() -> Iterator[Case]:
    for i in range(4):
        words = " ".join(pick_words(f"codename {i}"))
        yield codename_success(f"success_{i}", words, words, "generated, already normalised")
    w = pick_words("codename messy")
    canonical = " ".join(w)
    hyphenated = "t-shirt yo-yo drop-down felt-tip " + " ".join(w[:4])
    yield codename_success("hyphenated_words", hyphenated, hyphenated,
                           "the four hyphenated words; '-' is part of a word")
    messy = "  " + "\t".join(w[:4]).upper() + " \n " + "   ".join(w[4:]).title() + "\r\n"
    yield codename_success("mixed_case_and_spaces", messy, canonical,
                           "upper and title case, tabs, newlines, runs of spaces")
    fancy = "\u3000".join(w[:2]) + "\u00a0" + "\u2028".join(w[2:4]) + "\u2003" + " ".join(w[4:7])
    fancy += "\u0085" + "".join(chr(0xFF00 + ord(ch) - 0x20) for ch in w[7].upper())
    yield codename_success("unicode_spaces_fullwidth", fancy, canonical,
                           "U+3000 U+00A0 U+2028 U+2003 U+0085 separators, fullwidth last word")
    exact = canonical + " " * (256 - len(canonical))
    yield codename_success("length_256", exact, canonical, "exactly 256 characters")
    yield codename_failure("length_257", exact + " ", "257 characters: rejected before splitting")
    yield codename_failure("empty", "", "no words")
    yield codename_failure("seven_words", " ".join(w[:7]), "7 words")
    yield codename_failure("nine_words", " ".join(w) + " " + w[0], "9 words")
    yield codename_failure("unknown_word_3", " ".join([*w[:2], "zzzzz", *w[3:]]),
                           "word 3 is not in the list", 3)
    yield codename_failure("hyphen_split", "t shirt " + " ".join(w[:6]),
                           "'t shirt' is two words, 't' is not a word", 1)
    yield codename_failure("accented_word", " ".join([*w[:7], "abacús"]),
                           "an accent makes word 8 unknown", 8)
    yield codename_failure("zero_width_space", " ".join(w[:7]) + "\u200b" + w[7],
                           "U+200B is not whitespace: words 7 and 8 become one, 7 words")
    yield codename_failure("bom_separator", "\ufeff".join(w),
                           "U+FEFF is not whitespace: one unknown word", None)
    yield codename_failure("comma_separated", ",".join(w), "commas are not separators")
    yield codename_failure("dotted_capital_i", " ".join([*w[:4], "\u0130ce", *w[5:]]),
                           "U+0130 lowercases to 'i' plus U+0307, word 5 unknown", 5)


def keystring(name: str, key_type: str, text: str, expect: str, comment: str,
              extra: list[tuple[str, str]] | None = None) -> Case:
    return (name, [("expect", expect), ("key-type", key_type), *(extra or []),
                   ("comment", comment)], text.encode("ascii"))


def keystring_cases() -> Iterator[Case]:
    pub = ALICE.public
    pub_text = str(pub)
    yield keystring("pub_good", "drop-pub", pub_text, "success", "a responder public key",
                    [("payload", pub.payload.hex()), ("fingerprint", pub.fingerprint)])
    secret_text = ALICE.to_secret_string()
    yield keystring("secret_good", "DROP-SECRET", secret_text, "success", "a responder identity",
                    [("payload", (ALICE.box_secret + det("alice ed25519")).hex()),
                     ("public", pub_text)])
    reply_text = str(REPLY.public)
    yield keystring("reply_good", "drop-reply", reply_text, "success", "a reply public key",
                    [("payload", REPLY.public.box_key.hex())])
    online_seed = det("online seed")
    online_pk = sodium.crypto_sign_seed_keypair(online_seed)[0]
    certificate = bytes(OnlineCertificate.issue(ALICE, online_pk, __import__("datetime").date(
        2030, 1, 1)))
    online_text = encode_key_string("DROP-ONLINE-SECRET-", online_seed + certificate)
    yield keystring("online_good", "DROP-ONLINE-SECRET", online_text, "success",
                    "an online signing key with its certificate",
                    [("payload", (online_seed + certificate).hex())])
    other_cert = bytes(OnlineCertificate.issue(
        ALICE, sodium.crypto_sign_seed_keypair(det("another online seed"))[0],
        __import__("datetime").date(2030, 1, 1)))
    yield keystring("online_certificate_mismatch", "DROP-ONLINE-SECRET",
                    encode_key_string("DROP-ONLINE-SECRET-", online_seed + other_cert),
                    "key failure", "the certificate delegates a different key than the seed")
    body = pub_text[len("drop-pub-"):]
    changed = "b" if body[10] != "b" else "c"
    yield keystring("pub_bad_checksum", "drop-pub", pub_text[:19] + changed + pub_text[20:],
                    "key failure", "one character changed: checksum fails")
    yield keystring("pub_wrong_prefix", "drop-pub", reply_text, "key failure",
                    "a drop-reply string where a drop-pub string is expected")
    yield keystring("reply_wrong_prefix", "drop-reply", pub_text, "key failure",
                    "a drop-pub string where a drop-reply string is expected")
    yield keystring("pub_uppercase_body", "drop-pub", "drop-pub-" + body.upper(), "key failure",
                    "public string with an uppercase body")
    yield keystring("pub_uppercase_prefix", "drop-pub", "DROP-PUB-" + body, "key failure",
                    "public prefix in uppercase")
    yield keystring("pub_all_uppercase", "drop-pub", pub_text.upper(), "key failure",
                    "whole public string uppercased")
    yield keystring("secret_lowercase", "DROP-SECRET", secret_text.lower(), "key failure",
                    "secret string lowercased")
    yield keystring("pub_padding", "drop-pub", pub_text + "===", "key failure",
                    "base32 padding appended")
    yield keystring("pub_truncated", "drop-pub", pub_text[:-1], "key failure",
                    "last character missing")
    yield keystring("pub_extra_char", "drop-pub", pub_text + "a", "key failure",
                    "one character too many")
    yield keystring("pub_bad_character", "drop-pub", pub_text[:20] + "1" + pub_text[21:],
                    "key failure", "'1' is not in the base32 alphabet")
    yield keystring("pub_trailing_newline", "drop-pub", pub_text + "\n", "key failure",
                    "a trailing newline (callers strip input; decoders do not)")
    yield keystring("pub_empty", "drop-pub", "", "key failure", "empty string")
    raw = base64.b32encode(pub.payload + hashlib.sha256(b"drop-pub-" + pub.payload).digest()[:4])
    last = raw.decode().rstrip("=").lower()
    # 68 bytes use 544 of the 545 bits of 109 characters; set the unused bit.
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    noncanonical = last[:-1] + alphabet[alphabet.index(last[-1]) | 1]
    if noncanonical != last:
        yield keystring("pub_noncanonical", "drop-pub", "drop-pub-" + noncanonical,
                        "key failure", "the unused low bit of the last character is set")
    for label, point in (("zero", bytes(32)), ("order8", LOW_ORDER_POINT),
                         ("one_high_bit", SMALL_ORDER_HIGH_BIT)):
        yield keystring(f"pub_low_order_{label}", "drop-pub",
                        encode_key_string("drop-pub-", point + pub.verify_key), "key failure",
                        "small-order X25519 key with a valid checksum")
        yield keystring(f"reply_low_order_{label}", "drop-reply",
                        encode_key_string("drop-reply-", point), "key failure",
                        "small-order X25519 key with a valid checksum")
