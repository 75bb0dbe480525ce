// Key strings and fingerprints (FORMAT.md §3):
//   encode(prefix, payload) = prefix || base32(payload || SHA-256(prefix || payload)[0:4])
// lowercase base32 after a lowercase (public) prefix, uppercase after an
// uppercase (secret) one. The codec knows all four prefixes so it is held to
// every key-string vector; what the secret payloads mean lives in
// secretstrings.js, which the browser bundle does not include.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, isBytes } from '@noble/hashes/utils.js';
import { LOWER_ALPHABET, UPPER_ALPHABET, base32Decode, base32Encode } from './base32.js';
import { KeyFormatError } from './errors.js';

export const RESPONDER_PREFIX = 'drop-pub-';
export const REPLY_PREFIX = 'drop-reply-';
export const IDENTITY_PREFIX = 'DROP-SECRET-';
export const ONLINE_PREFIX = 'DROP-ONLINE-SECRET-';
const PAYLOAD_LENGTHS = { [RESPONDER_PREFIX]: 64, [REPLY_PREFIX]: 32, [IDENTITY_PREFIX]: 64, [ONLINE_PREFIX]: 32 + 132 };
const isSecretPrefix = (prefix) => prefix === prefix.toUpperCase();
const ascii = (text) => new TextEncoder().encode(text);

function checksum(prefix, payload) {
  const input = new Uint8Array(prefix.length + payload.length);
  input.set(ascii(prefix), 0);
  input.set(payload, prefix.length);
  return sha256(input).subarray(0, 4);
}

// libsodium's X25519 blocklist (has_small_order in ed25519_ref10.c): the
// points of order 1, 2, 4 and 8, plus p-1, p and p+1 (non-canonical 0 and 1).
// A shared secret with any of them is all zeros whatever the secret key.
const SMALL_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map(hexToBytes);

/** True when `pk` is on libsodium's blocklist (the top bit is ignored, as X25519 does). */
export function isSmallOrder(pk) {
  return SMALL_ORDER.some((bad) => {
    let diff = (pk[31] & 0x7f) ^ bad[31];
    for (let i = 0; i < 31; i++) diff |= pk[i] ^ bad[i];
    return diff === 0;
  });
}

/** Throws KeyFormatError unless `pk` is a 32-byte X25519 key of large order. */
export function assertUsableX25519(pk) {
  if (!isBytes(pk) || pk.length !== 32) {
    throw new KeyFormatError('an X25519 public key is 32 bytes');
  }
  if (isSmallOrder(pk)) {
    throw new KeyFormatError('this X25519 public key is a small-order point: nothing sealed to it would be secret');
  }
  return pk;
}

/** prefix || base32(payload || checksum), in the prefix's case. */
export function encodeKeyString(prefix, payload) {
  if (!Object.prototype.hasOwnProperty.call(PAYLOAD_LENGTHS, prefix)) throw new RangeError(`unknown key prefix ${prefix}`);
  const body = new Uint8Array(payload.length + 4);
  body.set(payload, 0);
  body.set(checksum(prefix, payload), payload.length);
  return prefix + base32Encode(body, !isSecretPrefix(prefix));
}

// What a person is told a string is when it carries another known prefix.
const KIND_NAMES = {
  'drop-pub-': 'responder public key (drop-pub-…)',
  'DROP-SECRET-': 'responder identity (DROP-SECRET-…)',
  'drop-reply-': 'reply public key (drop-reply-…)',
  'DROP-ONLINE-SECRET-': 'online signing key (DROP-ONLINE-SECRET-…)',
};

/**
 * Decode a key string with the given prefix and return its payload.
 * Throws KeyFormatError saying which rule failed, checked in the order of
 * keys/encoding.py: wrong prefix, padding, character outside the alphabet of
 * the prefix's case, wrong length, wrong checksum, non-canonical last character.
 */
export function decodeKeyString(text, prefix) {
  if (!Object.prototype.hasOwnProperty.call(KIND_NAMES, prefix)) throw new RangeError(`unknown key prefix ${prefix}`);
  const name = KIND_NAMES[prefix];
  if (typeof text !== 'string') throw new KeyFormatError('a key string must be text');
  if (!text.startsWith(prefix)) {
    const other = Object.keys(KIND_NAMES).find((known) => text.startsWith(known));
    throw new KeyFormatError(`expected a ${name}, but the string does not start with '${prefix}'` +
      (other ? `; this looks like a ${KIND_NAMES[other]}` : ''));
  }
  const body = text.slice(prefix.length);
  if (body.includes('=')) throw new KeyFormatError(`this ${name} contains '=' padding, which key strings never have`);
  const lowercase = !isSecretPrefix(prefix);
  const alphabet = lowercase ? LOWER_ALPHABET : UPPER_ALPHABET;
  let index = 0;
  for (const char of body) {
    if (!alphabet.includes(char)) {
      throw new KeyFormatError(`this ${name} has a character that does not belong at position ` +
        `${prefix.length + index + 1} (only ${lowercase ? 'lowercase' : 'uppercase'} base32 letters and digits 2-7 are used)`);
    }
    index++;
  }
  const payloadLength = PAYLOAD_LENGTHS[prefix];
  const expectedChars = Math.floor(((payloadLength + 4) * 8 + 4) / 5);
  if (body.length !== expectedChars) {
    throw new KeyFormatError(`this ${name} has ${body.length} characters after the prefix, ` +
      `expected ${expectedChars}: it was probably cut short or joined with something`);
  }
  const raw = base32Decode(body, lowercase);
  const payload = raw.slice(0, payloadLength);
  const sum = checksum(prefix, payload);
  let diff = 0;
  for (let i = 0; i < 4; i++) diff |= sum[i] ^ raw[payloadLength + i];
  if (diff !== 0) throw new KeyFormatError(`this ${name} has a wrong checksum: a character was mistyped or changed`);
  if (encodeKeyString(prefix, payload) !== text) {
    throw new KeyFormatError(`this ${name} is not in canonical form (its last character is wrong)`);
  }
  return payload;
}

/**
 * A drop-pub-... (responder) or drop-reply-... (reporter reply) string →
 * the X25519 public key to seal to. Throws KeyFormatError for anything else,
 * including a small-order key.
 */
export function parseRecipient(text) {
  if (typeof text === 'string' && text.startsWith(REPLY_PREFIX)) {
    return assertUsableX25519(decodeKeyString(text, REPLY_PREFIX));
  }
  if (typeof text === 'string' && text.startsWith(RESPONDER_PREFIX)) {
    return assertUsableX25519(decodeKeyString(text, RESPONDER_PREFIX).slice(0, 32));
  }
  throw new KeyFormatError(`a recipient is a ${RESPONDER_PREFIX}... or ${REPLY_PREFIX}... key`);
}

/** The drop-reply-... string of a reporter's X25519 reply public key. */
export function formatReplyKey(pk) {
  return encodeKeyString(REPLY_PREFIX, assertUsableX25519(pk));
}

/**
 * Fingerprint of a drop-pub-... key: the first 10 bytes of
 * SHA-256("drop/v1 fingerprint" || payload), 20 uppercase hex digits in 5 groups of 4.
 */
export function fingerprint(responderKey) {
  const payload = decodeKeyString(responderKey, RESPONDER_PREFIX);
  const label = ascii('drop/v1 fingerprint');
  const input = new Uint8Array(label.length + payload.length);
  input.set(label, 0);
  input.set(payload, label.length);
  const hex = bytesToHex(sha256(input).subarray(0, 10)).toUpperCase();
  return hex.match(/.{4}/g).join(' ');
}
