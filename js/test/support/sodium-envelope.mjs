// A second, independent implementation of the envelope (FORMAT.md §2) for
// the differential tests: libsodium (WebAssembly build) for the sealed box
// and secretstream, node:crypto for HKDF and HMAC. It shares no crypto code
// with js/src/, so agreement between the two means something.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import sodium from 'libsodium-wrappers';

await sodium.ready;
export { sodium };

const MAGIC = Buffer.from('DROPENV');
const CHUNK = 65536;
const SEALED_CHUNK = CHUNK + 17;

const hkdf = (fileKey, info) => new Uint8Array(hkdfSync('sha256', fileKey, Buffer.alloc(0), info, 32));
const hmac = (key, data) => new Uint8Array(createHmac('sha256', key).update(data).digest());

/**
 * Seal `plaintext` to X25519 public keys with libsodium. `tags` optionally
 * overrides the tag of each chunk (to build envelopes a correct sender would
 * never produce); `chunks` optionally overrides how the plaintext is cut.
 */
export function sodiumSeal(plaintext, publicKeys, { tags, chunks } = {}) {
  const fileKey = sodium.randombytes_buf(32);
  const preamble = Buffer.concat([MAGIC, Buffer.from([1, publicKeys.length]),
    ...publicKeys.map((pk) => sodium.crypto_box_seal(fileKey, pk))]);
  const mac = hmac(hkdf(fileKey, 'drop/v1 header-mac'), preamble);
  const { state, header } = sodium.crypto_secretstream_xchacha20poly1305_init_push(hkdf(fileKey, 'drop/v1 payload'));
  const pieces = chunks ?? [];
  if (!chunks) {
    for (let at = 0; at < plaintext.length || pieces.length === 0; at += CHUNK) pieces.push(plaintext.subarray(at, at + CHUNK));
  }
  const sealed = pieces.map((piece, i) => {
    const tag = tags?.[i] ?? (i === pieces.length - 1 ? sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
      : sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
    return sodium.crypto_secretstream_xchacha20poly1305_push(state, piece, null, tag);
  });
  return new Uint8Array(Buffer.concat([preamble, mac, header, ...sealed]));
}

/**
 * Open an envelope with libsodium; returns { plaintext, chunkLengths, tags }
 * or throws Error naming the failed step. Checks only what a correct reader
 * must check to open a well-formed envelope; the MUST-reject rules are the
 * subject of envelope.test.mjs and the vectors, not of this helper.
 */
export function sodiumOpen(envelope, publicKey, secretKey) {
  const data = Buffer.from(envelope);
  if (!data.subarray(0, 7).equals(MAGIC) || data[7] !== 1) throw new Error('header');
  const count = data[8];
  const macStart = 9 + 80 * count;
  let fileKey = null;
  for (let i = 0; i < count && !fileKey; i++) {
    try {
      fileKey = sodium.crypto_box_seal_open(data.subarray(9 + 80 * i, 9 + 80 * (i + 1)), publicKey, secretKey);
    } catch {
      // not ours
    }
  }
  if (!fileKey) throw new Error('no match');
  const mac = hmac(hkdf(fileKey, 'drop/v1 header-mac'), data.subarray(0, macStart));
  if (!timingSafeEqual(mac, data.subarray(macStart, macStart + 32))) throw new Error('mac');
  const payloadStart = macStart + 32;
  const state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(
    data.subarray(payloadStart, payloadStart + 24), hkdf(fileKey, 'drop/v1 payload'));
  const parts = [];
  const chunkLengths = [];
  const tags = [];
  for (let at = payloadStart + 24; at < data.length; at += SEALED_CHUNK) {
    const chunk = data.subarray(at, at + SEALED_CHUNK);
    const result = sodium.crypto_secretstream_xchacha20poly1305_pull(state, chunk);
    if (!result) throw new Error('payload');
    parts.push(result.message);
    chunkLengths.push(chunk.length);
    tags.push(result.tag);
  }
  return { plaintext: new Uint8Array(Buffer.concat(parts)), chunkLengths, tags };
}
