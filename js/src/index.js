// The browser side of the drop format: the `DropCrypto` API of
// docs/ARCHITECTURE.md. js/build.mjs bundles this file into
// dropbox/static/js/drop-crypto.js, which sets `window.DropCrypto`.
export { generateCodename, normalizeCodename, deriveCodename } from './codename.js';
export { parseRecipient, fingerprint, formatReplyKey } from './keystrings.js';
export { encryptBytes, encryptBlob, decryptBytes } from './envelope.js';
export { encodeMessage, decodeMessage } from './messages.js';
export { sha256Hex } from './digest.js';
export {
  DropCryptoError, KeyFormatError, HeaderError, NoIdentityMatch, PayloadError, CodenameError, MessageError,
} from './errors.js';
