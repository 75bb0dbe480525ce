// Typed errors of the browser crypto, mirroring the Python `keys` package
// (keys.KeysError and its subclasses) so that both sides fail the same way
// on the same bytes. One root, so the page can catch "any crypto failure"
// without also swallowing programming errors (TypeError, RangeError).
//
// Each class sets `name` as a string literal: the bundle is minified, so
// `constructor.name` would be a mangled identifier.

/** Root of every error this library throws on bad input. */
export class DropCryptoError extends Error {
  constructor(message, name = 'DropCryptoError') {
    super(message);
    this.name = name;
  }
}

/** A key string (drop-pub-..., drop-reply-...) or raw key that cannot be used. */
export class KeyFormatError extends DropCryptoError {
  constructor(message) { super(message, 'KeyFormatError'); }
}

/** The envelope header is malformed, cut short, or its MAC does not verify. */
export class HeaderError extends DropCryptoError {
  constructor(message) { super(message, 'HeaderError'); }
}

/** No stanza of the envelope opens with this key: it was not sealed to you. */
export class NoIdentityMatch extends DropCryptoError {
  constructor(message) { super(message, 'NoIdentityMatch'); }
}

/** The encrypted payload is truncated, reordered, extended or tampered with. */
export class PayloadError extends DropCryptoError {
  constructor(message) { super(message, 'PayloadError'); }
}

/**
 * The codename was mistyped: too long, wrong number of words, or a word not
 * in the list. `position` is the 1-based position of the first unknown word
 * (null otherwise), `count` the number of words found (null if not split).
 * The word itself is never put in the message: a codename is a secret.
 */
export class CodenameError extends DropCryptoError {
  constructor(message, { position = null, count = null } = {}) {
    super(message, 'CodenameError');
    this.position = position;
    this.count = count;
  }
}

/** A decrypted message is not a valid drop message (FORMAT.md §5). */
export class MessageError extends DropCryptoError {
  constructor(message) { super(message, 'MessageError'); }
}
