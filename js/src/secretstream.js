// libsodium's crypto_secretstream_xchacha20poly1305, push and pull, on noble's
// ChaCha20 (IETF, 12-byte nonce) and Poly1305. Additional data is always
// empty in the drop format (FORMAT.md §1), so it is not an argument here.
//
// State: a 32-byte subkey k and a 12-byte nonce = counter (u32 LE) || inonce (8).
//   init:  k = HChaCha20(key, header[0:16]); counter = 1; inonce = header[16:24]
//   push:  block 0 of ChaCha20(k, nonce) is the Poly1305 key; the tag byte
//          sits at [0] of an otherwise zero 64-byte block encrypted as block 1;
//          the message is encrypted from block 2 on.
//          MAC = Poly1305(block1 || c || zeros(mlen % 16) || le64(0) || le64(64 + mlen))
//          output = block1[0] || c || MAC (17 bytes of overhead)
//   then:  inonce ^= MAC[0:8]; counter += 1; rekey if tag has REKEY or counter wrapped.
//   rekey: k || inonce ^= ChaCha20(k, nonce) keystream[0:40]; counter = 1.
import { chacha20 } from '@noble/ciphers/chacha.js';
import { poly1305 } from '@noble/ciphers/_poly1305.js';
import { equalBytes } from '@noble/ciphers/utils.js';
import { hchacha20 } from './subkeys.js';

export const HEADER_BYTES = 24;
export const ABYTES = 17; // encrypted tag (1) + Poly1305 MAC (16)
export const TAG_MESSAGE = 0;
export const TAG_PUSH = 1;
export const TAG_REKEY = 2;
export const TAG_FINAL = 3;

const ZERO_BLOCKS_2 = new Uint8Array(128);
const PAD0 = new Uint8Array(16);

function newState(key, header) {
  if (key.length !== 32) throw new RangeError('secretstream key must be 32 bytes');
  if (header.length !== HEADER_BYTES) throw new RangeError('secretstream header must be 24 bytes');
  const nonce = new Uint8Array(12);
  nonce[0] = 1; // libsodium's counter_reset: the counter starts at 1, not 0
  nonce.set(header.subarray(16, 24), 4);
  return { k: hchacha20(key, header.subarray(0, 16)), nonce };
}

// Released libsodium (1.0.14+) XORs the keystream into k || inonce, and
// resets the counter to 1; an early draft of the file used the bare
// keystream and counter 0, which does not interoperate.
function rekey(state) {
  const current = new Uint8Array(40);
  current.set(state.k, 0);
  current.set(state.nonce.subarray(4, 12), 32);
  const fresh = chacha20(state.k, state.nonce, current);
  current.fill(0);
  state.k.set(fresh.subarray(0, 32));
  state.nonce.fill(0, 0, 4);
  state.nonce[0] = 1;
  state.nonce.set(fresh.subarray(32, 40), 4);
  fresh.fill(0);
}

// The part of push/pull after the MAC is known: fold the MAC into the inner
// nonce, bump the little-endian counter, rekey on request or on wrap.
function advance(state, mac, tag) {
  for (let i = 0; i < 8; i++) state.nonce[4 + i] ^= mac[i];
  let carry = 1;
  for (let i = 0; i < 4; i++) {
    carry += state.nonce[i];
    state.nonce[i] = carry & 0xff;
    carry >>>= 8;
  }
  const wrapped = (state.nonce[0] | state.nonce[1] | state.nonce[2] | state.nonce[3]) === 0;
  if ((tag & TAG_REKEY) !== 0 || wrapped) rekey(state);
}

// Blocks 0 and 1 of the keystream in one call: 0 is the Poly1305 key, 1 hides the tag.
function firstBlocks(state) {
  return chacha20(state.k, state.nonce, ZERO_BLOCKS_2);
}

function computeMac(polyKey, tagBlock, c) {
  const mlen = c.length;
  const lengths = new Uint8Array(16);
  const view = new DataView(lengths.buffer);
  // le64(adlen = 0) || le64(64 + mlen); mlen < 2^53 so two u32 halves suffice.
  const total = 64 + mlen;
  view.setUint32(8, total % 0x100000000, true);
  view.setUint32(12, Math.floor(total / 0x100000000), true);
  return poly1305
    .create(polyKey)
    // empty AD, and its pad (0x10 - 0) & 0xf = 0 bytes
    .update(tagBlock)
    .update(c)
    // libsodium's (0x10 - 64 + mlen) & 0xf, which is mlen % 16 and NOT the
    // usual "pad to a multiple of 16" (16 - mlen % 16) % 16: keep it verbatim
    // or nothing interoperates (differential.test.mjs catches the difference).
    .update(PAD0.subarray(0, (0x10 - 64 + mlen) & 0xf))
    .update(lengths)
    .digest();
}

/** crypto_secretstream_xchacha20poly1305_init_push: returns { state, header }. */
export function initPush(key) {
  const header = crypto.getRandomValues(new Uint8Array(HEADER_BYTES));
  return { state: newState(key, header), header };
}

/** crypto_secretstream_xchacha20poly1305_init_pull: returns the state. */
export function initPull(header, key) {
  return newState(key, header);
}

/** crypto_secretstream_xchacha20poly1305_push: returns tag || c || mac. */
export function push(state, message, tag) {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xff) throw new RangeError('tag must be a byte');
  const ks = firstBlocks(state);
  const tagBlock = ks.slice(64, 128);
  tagBlock[0] ^= tag;
  const out = new Uint8Array(ABYTES + message.length);
  out[0] = tagBlock[0];
  const c = out.subarray(1, 1 + message.length);
  chacha20(state.k, state.nonce, message, c, 2);
  const mac = computeMac(ks.subarray(0, 32), tagBlock, c);
  ks.fill(0);
  out.set(mac, 1 + message.length);
  advance(state, mac, tag);
  return out;
}

/**
 * crypto_secretstream_xchacha20poly1305_pull: returns { message, tag }, or
 * null when the chunk is shorter than 17 bytes or fails authentication. On
 * null the state is left untouched, as in libsodium.
 */
export function pull(state, chunk) {
  if (chunk.length < ABYTES) return null;
  const mlen = chunk.length - ABYTES;
  const ks = firstBlocks(state);
  const tagBlock = ks.slice(64, 128);
  const tag = tagBlock[0] ^ chunk[0];
  tagBlock[0] = chunk[0]; // the MAC covers the tag block as it was sent
  const c = chunk.subarray(1, 1 + mlen);
  const mac = computeMac(ks.subarray(0, 32), tagBlock, c);
  ks.fill(0);
  // noble's equalBytes compares in constant time for equal lengths.
  if (!equalBytes(mac, chunk.subarray(1 + mlen))) return null;
  const message = chacha20(state.k, state.nonce, c, undefined, 2);
  advance(state, mac, tag);
  return { message, tag };
}
