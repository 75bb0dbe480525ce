// Sealed envelopes (FORMAT.md §2): one header naming up to 32 recipients,
// then a secretstream payload in 64 KiB chunks.
//
//   header  = "DROPENV" || 0x01 || count || count × seal(file_key, pk) || HMAC(mac_key, all before)
//   payload = secretstream header || full chunks (tag MESSAGE) || last chunk (tag FINAL)
//
// Decryption follows the spec's MUST list in its order, and releases
// plaintext only after the FINAL chunk verified: on any failure the partly
// decrypted buffer is wiped before the error is thrown.
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
// isBytes rather than instanceof: a Uint8Array from another realm (frame) is still bytes.
import { bytesToHex, isBytes } from '@noble/hashes/utils.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { DropCryptoError, HeaderError, NoIdentityMatch, PayloadError } from './errors.js';
import { assertUsableX25519, parseRecipient } from './keystrings.js';
import { seal, sealOpen } from './sealedbox.js';
import * as stream from './secretstream.js';

export const MAGIC = new TextEncoder().encode('DROPENV');
export const VERSION = 1;
export const MAX_RECIPIENTS = 32;
export const STANZA_BYTES = 80; // seal(32-byte file key) = 32 + 48
export const CHUNK_BYTES = 65536;
const SEALED_CHUNK_BYTES = CHUNK_BYTES + stream.ABYTES; // 65553
const PREAMBLE_BYTES = MAGIC.length + 2; // magic, version, count
const MAC_BYTES = 32;
const label = (text) => new TextEncoder().encode(text);
const MAC_INFO = label('drop/v1 header-mac');
const PAYLOAD_INFO = label('drop/v1 payload');

function subkeys(fileKey) {
  // An undefined salt is HashLen zero bytes, the spec's "empty salt".
  return {
    macKey: hkdf(sha256, fileKey, undefined, MAC_INFO, 32),
    payloadKey: hkdf(sha256, fileKey, undefined, PAYLOAD_INFO, 32),
  };
}

// Strings are parsed, raw keys checked; then duplicates are dropped (the spec
// makes that the sender's job) keeping first-seen order.
function recipientKeys(recipients) {
  if (!Array.isArray(recipients)) throw new TypeError('recipients must be an array');
  const seen = new Set();
  const keys = [];
  for (const recipient of recipients) {
    const pk = typeof recipient === 'string' ? parseRecipient(recipient) : assertUsableX25519(recipient);
    const id = bytesToHex(pk);
    if (!seen.has(id)) {
      seen.add(id);
      keys.push(pk);
    }
  }
  if (keys.length === 0 || keys.length > MAX_RECIPIENTS) {
    throw new DropCryptoError(`an envelope needs 1 to ${MAX_RECIPIENTS} distinct recipients, not ${keys.length}`);
  }
  return keys;
}

// Envelope header plus secretstream header, and the stream state to push with.
function begin(recipients) {
  const keys = recipientKeys(recipients);
  const fileKey = crypto.getRandomValues(new Uint8Array(32));
  const macStart = PREAMBLE_BYTES + STANZA_BYTES * keys.length;
  const prefix = new Uint8Array(macStart + MAC_BYTES + stream.HEADER_BYTES);
  prefix.set(MAGIC, 0);
  prefix[MAGIC.length] = VERSION;
  prefix[MAGIC.length + 1] = keys.length;
  keys.forEach((pk, i) => prefix.set(seal(fileKey, pk), PREAMBLE_BYTES + STANZA_BYTES * i));
  const { macKey, payloadKey } = subkeys(fileKey);
  fileKey.fill(0);
  prefix.set(hmac(sha256, macKey, prefix.subarray(0, macStart)), macStart);
  const { state, header } = stream.initPush(payloadKey);
  macKey.fill(0);
  payloadKey.fill(0);
  prefix.set(header, macStart + MAC_BYTES);
  return { prefix, state };
}

/** Number of secretstream chunks for a plaintext of `size` bytes (an empty one is one chunk). */
function chunkCount(size) {
  return Math.max(1, Math.ceil(size / CHUNK_BYTES));
}

/**
 * Seal `plaintext` (Uint8Array) to `recipients` (drop-pub-/drop-reply-
 * strings or 32-byte X25519 keys). Throws KeyFormatError for a bad key and
 * DropCryptoError for 0 or more than 32 distinct recipients.
 */
export function encryptBytes(plaintext, recipients) {
  if (!isBytes(plaintext)) throw new TypeError('plaintext must be a Uint8Array');
  const { prefix, state } = begin(recipients);
  const chunks = chunkCount(plaintext.length);
  const out = new Uint8Array(prefix.length + plaintext.length + stream.ABYTES * chunks);
  out.set(prefix, 0);
  let at = prefix.length;
  for (let i = 0; i < chunks; i++) {
    const piece = plaintext.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES);
    const sealed = stream.push(state, piece, i === chunks - 1 ? stream.TAG_FINAL : stream.TAG_MESSAGE);
    out.set(sealed, at);
    at += sealed.length;
  }
  return out;
}

// Ciphertext chunks are folded into a Blob every this many chunks, so the JS
// heap holds at most ~1 MiB of them while the browser's blob store (which
// may page to disk) holds the rest.
const CHUNKS_PER_FOLD = 16;

/**
 * Seal a Blob or File, reading it with slice() one 64 KiB chunk at a time so
 * the plaintext is never whole in memory. Resolves to a Blob of the
 * envelope. `onProgress(doneBytes, totalBytes)` is called after each chunk.
 */
export async function encryptBlob(blob, recipients, onProgress) {
  const { prefix, state } = begin(recipients);
  const total = blob.size;
  let sealedSoFar = new Blob([prefix]);
  let pending = [];
  let offset = 0;
  do {
    const end = Math.min(offset + CHUNK_BYTES, total);
    const piece = new Uint8Array(await blob.slice(offset, end).arrayBuffer());
    if (piece.length !== end - offset) {
      throw new DropCryptoError('the file changed while it was being encrypted; please choose it again');
    }
    pending.push(stream.push(state, piece, end === total ? stream.TAG_FINAL : stream.TAG_MESSAGE));
    piece.fill(0);
    offset = end;
    if (pending.length >= CHUNKS_PER_FOLD) {
      sealedSoFar = new Blob([sealedSoFar, ...pending]);
      pending = [];
    }
    if (onProgress) onProgress(offset, total);
  } while (offset < total);
  return new Blob([sealedSoFar, ...pending], { type: 'application/octet-stream' });
}

// Steps 1–3 of decryption: returns the payload key and where the payload starts.
function openHeader(envelope, sk) {
  if (envelope.length < PREAMBLE_BYTES) throw new HeaderError('this is not a drop envelope: it is too short to hold a header');
  for (let i = 0; i < MAGIC.length; i++) {
    if (envelope[i] !== MAGIC[i]) throw new HeaderError('this is not a drop envelope (wrong magic bytes)');
  }
  const version = envelope[MAGIC.length];
  if (version !== VERSION) throw new HeaderError(`envelope format version ${version} is not supported (only ${VERSION})`);
  const count = envelope[MAGIC.length + 1];
  if (count < 1 || count > MAX_RECIPIENTS) throw new HeaderError(`an envelope names 1 to ${MAX_RECIPIENTS} recipients, this one ${count}`);
  const macStart = PREAMBLE_BYTES + STANZA_BYTES * count;
  if (envelope.length < macStart + MAC_BYTES) throw new HeaderError('the envelope header is cut short');

  const pk = x25519.getPublicKey(sk);
  let fileKey = null;
  for (let i = 0; i < count && fileKey === null; i++) {
    const opened = sealOpen(envelope.subarray(PREAMBLE_BYTES + STANZA_BYTES * i, PREAMBLE_BYTES + STANZA_BYTES * (i + 1)), pk, sk);
    if (opened !== null && opened.length === 32) fileKey = opened;
  }
  if (fileKey === null) throw new NoIdentityMatch('this envelope was not sealed to your key');

  const { macKey, payloadKey } = subkeys(fileKey);
  fileKey.fill(0);
  const expected = hmac(sha256, macKey, envelope.subarray(0, macStart));
  macKey.fill(0);
  const stored = envelope.subarray(macStart, macStart + MAC_BYTES);
  let diff = 0;
  for (let i = 0; i < MAC_BYTES; i++) diff |= expected[i] ^ stored[i];
  if (diff !== 0) {
    payloadKey.fill(0);
    throw new HeaderError('the envelope header was altered (its MAC does not verify)');
  }
  return { payloadKey, payloadStart: macStart + MAC_BYTES };
}

// Step 4 into `out`, throwing PayloadError at the first broken rule.
function openPayload(payload, payloadKey, out) {
  const state = stream.initPull(payload.subarray(0, stream.HEADER_BYTES), payloadKey);
  const body = payload.subarray(stream.HEADER_BYTES);
  const chunks = Math.ceil(body.length / SEALED_CHUNK_BYTES);
  let at = 0;
  for (let i = 0; i < chunks; i++) {
    const last = i === chunks - 1;
    const opened = stream.pull(state, body.subarray(i * SEALED_CHUNK_BYTES, (i + 1) * SEALED_CHUNK_BYTES));
    if (opened === null) throw new PayloadError(`chunk ${i + 1} of the payload is damaged or was altered`);
    const { message, tag } = opened;
    if (tag === stream.TAG_FINAL && !last) throw new PayloadError('data was appended after the end of the payload');
    if (tag === stream.TAG_MESSAGE && last) throw new PayloadError('the payload is cut short: its final chunk is missing');
    if (tag !== stream.TAG_MESSAGE && tag !== stream.TAG_FINAL) throw new PayloadError(`chunk ${i + 1} carries an unknown tag ${tag}`);
    if (last && message.length === 0 && chunks > 1) throw new PayloadError('the payload ends with an empty final chunk after data');
    out.set(message, at);
    at += message.length;
    message.fill(0);
  }
}

/**
 * Open an envelope with an X25519 secret key. Returns the plaintext only
 * once every chunk, the FINAL one included, has verified. Throws
 * HeaderError, NoIdentityMatch or PayloadError (FORMAT.md §2 steps 1–4).
 */
export function decryptBytes(envelope, secretKey) {
  if (!isBytes(envelope)) throw new TypeError('envelope must be a Uint8Array');
  if (!isBytes(secretKey) || secretKey.length !== 32) throw new TypeError('secret key must be 32 bytes');
  const { payloadKey, payloadStart } = openHeader(envelope, secretKey);
  const payload = envelope.subarray(payloadStart);
  try {
    if (payload.length < stream.HEADER_BYTES + stream.ABYTES) {
      throw new PayloadError('the payload is cut short: it cannot hold even an empty chunk');
    }
    const body = payload.length - stream.HEADER_BYTES;
    const chunks = Math.ceil(body / SEALED_CHUNK_BYTES);
    const lastSealed = body - (chunks - 1) * SEALED_CHUNK_BYTES;
    if (lastSealed < stream.ABYTES) throw new PayloadError('the payload is cut short inside its last chunk');
    const out = new Uint8Array(body - stream.ABYTES * chunks);
    try {
      openPayload(payload, payloadKey, out);
    } catch (error) {
      out.fill(0); // never hand back, or leave lying around, unverified plaintext
      throw error;
    }
    return out;
  } finally {
    payloadKey.fill(0);
  }
}
