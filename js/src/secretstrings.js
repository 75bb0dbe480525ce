// What the secret key strings of FORMAT.md §3 hold, for the JS side of the
// key-string vectors. Deliberately NOT exported from index.js: the reporter's
// browser never handles a responder's secrets, so esbuild leaves this module
// out of the bundle (bundle.test.mjs checks that this code is absent).
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { KeyFormatError } from './errors.js';
import { IDENTITY_PREFIX, ONLINE_PREFIX, RESPONDER_PREFIX, decodeKeyString, encodeKeyString } from './keystrings.js';

/**
 * A DROP-SECRET-... string → { boxSecret, signingSeed, publicKey } where
 * publicKey is the matching drop-pub-... string. Throws KeyFormatError.
 */
export function parseResponderIdentity(text) {
  const payload = decodeKeyString(text, IDENTITY_PREFIX);
  const boxSecret = payload.slice(0, 32);
  const signingSeed = payload.slice(32, 64);
  const pub = new Uint8Array(64);
  pub.set(x25519.getPublicKey(boxSecret), 0);
  pub.set(ed25519.getPublicKey(signingSeed), 32);
  return { boxSecret, signingSeed, publicKey: encodeKeyString(RESPONDER_PREFIX, pub) };
}

/**
 * A DROP-ONLINE-SECRET-... string → { seed, certificate }. The certificate
 * (132 bytes) starts with the delegated Ed25519 verify key, which must be the
 * seed's own (keys.online.OnlineSigningKey); its signature is not checked
 * here. Throws KeyFormatError.
 */
export function parseOnlineSecret(text) {
  const payload = decodeKeyString(text, ONLINE_PREFIX);
  const seed = payload.slice(0, 32);
  const certificate = payload.slice(32);
  const own = ed25519.getPublicKey(seed);
  let diff = 0;
  for (let i = 0; i < 32; i++) diff |= own[i] ^ certificate[i];
  if (diff !== 0) throw new KeyFormatError("this online key's certificate was issued for a different key");
  return { seed, certificate };
}
