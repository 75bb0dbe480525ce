"""The drop's format core: keys, sealed envelopes, codenames, messages, signatures.

Depends on PyNaCl and the standard library only. The byte format is specified
in docs/FORMAT.md; every error raised on bad input is a `KeysError`.
"""

from keys.codename import CodenameKeys, derive_codename, generate_codename, normalize_codename
from keys.envelope import Identity, Recipient, Sealer, decrypt, decrypt_to_path, encrypt
from keys.errors import (
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
from keys.messages import (
    AttachmentRef,
    FollowUp,
    Reply,
    Report,
    decode_message,
    encode_message,
)
from keys.online import OnlineCertificate, OnlineSigningKey
from keys.signatures import sign_reply, sign_request, verify_reply, verify_request
from keys.types import ReplyKeyPair, ReplyPublicKey, ResponderIdentity, ResponderPublicKey

__all__ = [
    "AttachmentRef",
    "CodenameError",
    "CodenameKeys",
    "FollowUp",
    "HeaderError",
    "Identity",
    "KeyFormatError",
    "KeysError",
    "MessageError",
    "NoIdentityMatch",
    "OnlineCertificate",
    "OnlineSigningKey",
    "PassphraseError",
    "PayloadError",
    "Recipient",
    "Reply",
    "ReplyKeyPair",
    "ReplyPublicKey",
    "Report",
    "ResponderIdentity",
    "ResponderPublicKey",
    "Sealer",
    "SignatureError",
    "decode_message",
    "decrypt",
    "decrypt_to_path",
    "derive_codename",
    "encode_message",
    "encrypt",
    "generate_codename",
    "normalize_codename",
    "sign_reply",
    "sign_request",
    "verify_reply",
    "verify_request",
]
