// libsodium's sealed box (crypto_box_seal / crypto_box_seal_open) on noble.
//
//   seal(m, pk)  = epk || crypto_box(m, nonce, pk, esk)
//   nonce        = BLAKE2b-192(epk || pk)                  (crypto_box_seal_nonce)
//   crypto_box   = secretbox(m, nonce, k)                   (crypto_box_easy)
//   k            = HSalsa20(X25519(esk, pk), 0^16)          (crypto_box_beforenm)
//   secretbox    = XSalsa20-Poly1305, output mac(16) || c   (crypto_secretbox_easy)
//
// The envelope uses it to wrap the 32-byte file key once per recipient.
import { xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { blake2b } from '@noble/hashes/blake2.js';
import { hsalsa20 } from './subkeys.js';

export const SEAL_OVERHEAD = 48; // epk(32) + Poly1305 tag(16)

const ZERO16 = new Uint8Array(16);

function sealNonce(epk, pk) {
  const input = new Uint8Array(64);
  input.set(epk, 0);
  input.set(pk, 32);
  return blake2b(input, { dkLen: 24 });
}

// crypto_box_beforenm. noble's x25519 throws on the small-order points of
// libsodium's blocklist (checked before the ladder, so no timing signal) and
// on an all-zero shared secret, as crypto_scalarmult does by returning -1.
function boxKey(sk, pk) {
  const shared = x25519.getSharedSecret(sk, pk);
  const k = hsalsa20(shared, ZERO16);
  shared.fill(0);
  return k;
}

/**
 * crypto_box_seal. Returns epk || mac || ciphertext (m.length + 48 bytes).
 * Throws (noble's Error) if `pk` is not 32 bytes or is a small-order point;
 * callers validate recipient keys first, so that is a programming error.
 */
export function seal(message, pk) {
  const esk = x25519.utils.randomSecretKey();
  const epk = x25519.getPublicKey(esk);
  const k = boxKey(esk, pk);
  esk.fill(0);
  const boxed = xsalsa20poly1305(k, sealNonce(epk, pk)).encrypt(message);
  k.fill(0);
  const out = new Uint8Array(32 + boxed.length);
  out.set(epk, 0);
  out.set(boxed, 32);
  return out;
}

/**
 * crypto_box_seal_open with the recipient's key pair (pk is passed in so a
 * caller trying many stanzas derives it once). Returns the plaintext, or null
 * when the box does not open for any reason (short, small-order epk, wrong
 * key, forged), so the caller can move on to the next stanza without an
 * exception per miss.
 */
export function sealOpen(sealed, pk, sk) {
  if (sealed.length < SEAL_OVERHEAD) return null;
  const epk = sealed.subarray(0, 32);
  let k;
  try {
    k = boxKey(sk, epk);
  } catch {
    return null; // small-order ephemeral key: libsodium returns -1 here too
  }
  try {
    return xsalsa20poly1305(k, sealNonce(epk, pk)).decrypt(sealed.subarray(32));
  } catch {
    return null; // Poly1305 tag mismatch
  } finally {
    k.fill(0);
  }
}
