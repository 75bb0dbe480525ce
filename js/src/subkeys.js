// HSalsa20 and HChaCha20 over byte arrays.
//
// libsodium uses both as key-derivation steps: crypto_box_beforenm is
// HSalsa20(X25519 shared secret, 16 zero bytes) and secretstream's init is
// HChaCha20(key, header[0:16]). noble exports the cores only over 32-bit word
// views; these wrappers give them a byte interface. Inputs are copied into
// fresh (hence 4-byte aligned) buffers because u32() needs aligned views; the
// noble cores byte-swap on big-endian hosts themselves.
import { hchacha } from '@noble/ciphers/chacha.js';
import { hsalsa } from '@noble/ciphers/salsa.js';
import { u32 } from '@noble/ciphers/utils.js';

// The "expand 32-byte k" constant, as the bytes libsodium feeds the core
// when its `c` argument is NULL.
const SIGMA = new TextEncoder().encode('expand 32-byte k');

function subkey(core, key, input) {
  if (key.length !== 32 || input.length !== 16) {
    throw new RangeError('subkey derivation needs a 32-byte key and a 16-byte input');
  }
  const sigma = SIGMA.slice();
  const k = key.slice();
  const i = input.slice();
  const out = new Uint8Array(32);
  core(u32(sigma), u32(k), u32(i), u32(out));
  k.fill(0);
  return out;
}

/** crypto_core_hsalsa20(out, input, key, NULL) */
export function hsalsa20(key, input) {
  return subkey(hsalsa, key, input);
}

/** crypto_core_hchacha20(out, input, key, NULL) */
export function hchacha20(key, input) {
  return subkey(hchacha, key, input);
}
