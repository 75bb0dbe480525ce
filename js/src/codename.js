// Codenames (FORMAT.md §4): 8 words of the EFF large list (103.4 bits),
// normalised before use, then stretched with HKDF-SHA256 into the login
// secret sent to the server and the reporter's X25519 reply key pair.
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CodenameError } from './errors.js';
import { formatReplyKey } from './keystrings.js';
import { WORDS, WORD_SET } from './wordlist.js';

export const CODENAME_WORDS = 8;
export const MAX_CODENAME_CHARS = 256;
const utf8 = (text) => new TextEncoder().encode(text);
const SALT = utf8('drop/v1 codename');
const LOGIN_INFO = utf8('drop/v1 login');
const REPLY_INFO = utf8('drop/v1 reply-key');

// The Unicode White_Space characters that survive NFKC (U+00A0, U+2000–200A,
// U+3000 and the like become U+0020), the same explicit set as
// keys/codename.py, so both sides cut a codename in the same places. Not JS's
// \s, which adds U+FEFF.
const WHITESPACE_RUN = /[\t\n\v\f\r \x85\u1680\u2028\u2029]+/;

/** A fresh codename: 8 words drawn uniformly with the platform CSPRNG. */
export function generateCodename() {
  // Rejection sampling: 62208 = 8 × 7776 is the largest multiple of 7776
  // below 2^16, so `value % 7776` is uniform over the values kept.
  const limit = 65536 - (65536 % WORDS.length);
  const words = [];
  const sample = new Uint16Array(1);
  while (words.length < CODENAME_WORDS) {
    crypto.getRandomValues(sample);
    if (sample[0] < limit) words.push(WORDS[sample[0] % WORDS.length]);
  }
  sample.fill(0);
  return words.join(' ');
}

/**
 * The canonical form of a typed codename: NFKC, lowercase, words separated by
 * one space. Throws CodenameError for input over 256 characters (checked
 * first, before any Unicode work), a word count other than 8, or a word
 * not in the list (its 1-based position in `error.position`).
 */
export function normalizeCodename(input) {
  if (typeof input !== 'string') throw new CodenameError('a codename is text');
  // Characters are Unicode code points, as Python's len(). A string of more
  // than 512 UTF-16 units surely has more than 256 of them: refuse it
  // without iterating.
  if (input.length > 2 * MAX_CODENAME_CHARS || [...input].length > MAX_CODENAME_CHARS) {
    throw new CodenameError('that is far too long to be a codename: a codename is 8 words');
  }
  const words = input.normalize('NFKC').toLowerCase().split(WHITESPACE_RUN).filter((word) => word !== '');
  const count = words.length;
  if (count !== CODENAME_WORDS) {
    throw new CodenameError(`a codename has ${CODENAME_WORDS} words, but ${count} were entered`, { count });
  }
  words.forEach((word, index) => {
    if (!WORD_SET.has(word)) {
      // The word stays out of the message: messages get shown and logged.
      throw new CodenameError(`word ${index + 1} of the codename is not in the word list; check its spelling`,
        { position: index + 1, count });
    }
  });
  return words.join(' ');
}

/**
 * Normalise `codename` and derive from it the login secret (32 bytes, sent
 * to the server as hex) and the reply key pair (the seed is the X25519
 * secret key directly; X25519 clamps it). Throws CodenameError as
 * normalizeCodename does.
 */
export function deriveCodename(codename) {
  const c = utf8(normalizeCodename(codename));
  const loginSecret = hkdf(sha256, c, SALT, LOGIN_INFO, 32);
  const replySecretKey = hkdf(sha256, c, SALT, REPLY_INFO, 32);
  c.fill(0);
  const replyPublicKey = x25519.getPublicKey(replySecretKey);
  return { loginSecret, replySecretKey, replyPublicKey, replyPublicKeyString: formatReplyKey(replyPublicKey) };
}
