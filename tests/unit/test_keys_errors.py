"""One exception root; every error class documented for the person who reads it."""

from __future__ import annotations

import io

import pytest

import keys
from keys import (
    CodenameError,
    HeaderError,
    KeyFormatError,
    KeysError,
    MessageError,
    NoIdentityMatch,
    PassphraseError,
    PayloadError,
    SignatureError,
)

ERRORS = [KeyFormatError, HeaderError, NoIdentityMatch, PayloadError, CodenameError,
          MessageError, PassphraseError, SignatureError]


@pytest.mark.parametrize("error", ERRORS)
def test_every_error_is_a_keys_error_with_a_readable_docstring(error: type[KeysError]) -> None:
    assert issubclass(error, KeysError)
    assert error.__doc__ and len(error.__doc__.split()) >= 8


def test_error_classes_are_distinct_leaves() -> None:
    for a in ERRORS:
        for b in ERRORS:
            assert a is b or not issubclass(a, b)


def test_no_match_message_defaults_to_something_readable() -> None:
    identity = keys.ResponderIdentity.generate()
    out = io.BytesIO()
    keys.encrypt(io.BytesIO(b"x"), out, [keys.ResponderIdentity.generate().public])
    with pytest.raises(NoIdentityMatch) as raised:
        keys.decrypt(io.BytesIO(out.getvalue()), io.BytesIO(), identity)
    assert raised.value.__doc__ and "not encrypted to your key" in raised.value.__doc__


def test_key_error_messages_never_contain_the_secret_string() -> None:
    secret = keys.ResponderIdentity.generate().to_secret_string()
    for broken in (secret[:-1], secret + "A", secret.lower(), secret[:30] + "1" + secret[31:]):
        with pytest.raises(KeyFormatError) as raised:
            keys.ResponderIdentity.from_secret_string(broken)
        assert secret[12:40] not in str(raised.value)


def test_public_api_is_exactly_the_documented_names() -> None:
    assert set(keys.__all__) == {
        "KeysError", "KeyFormatError", "HeaderError", "NoIdentityMatch", "PayloadError",
        "CodenameError", "MessageError", "PassphraseError", "SignatureError",
        "ResponderIdentity", "ResponderPublicKey", "ReplyKeyPair", "ReplyPublicKey",
        "OnlineSigningKey", "OnlineCertificate",
        "encrypt", "decrypt", "decrypt_to_path", "Sealer", "Recipient", "Identity",
        "generate_codename", "normalize_codename", "derive_codename", "CodenameKeys",
        "Report", "FollowUp", "Reply", "AttachmentRef", "encode_message", "decode_message",
        "sign_reply", "verify_reply", "sign_request", "verify_request",
    }
    for name in keys.__all__:
        assert getattr(keys, name) is not None
