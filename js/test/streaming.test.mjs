// encryptBlob streams: it reads a Blob/File only through slice() in chunks
// of at most 64 KiB, never as a whole, and its output opens to the input.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { x25519 } from '@noble/curves/ed25519.js';
import { decryptBytes, encryptBlob } from '../src/envelope.js';
import { SEED, seededRandom } from './support/seeded.mjs';
import { sodiumOpen } from './support/sodium-envelope.mjs';

// A Blob that records every slice() and refuses to be read whole.
class WatchedBlob extends Blob {
  constructor(parts) {
    super(parts);
    this.sliceLengths = [];
  }

  slice(start, end, type) {
    this.sliceLengths.push(end - start);
    return super.slice(start, end, type);
  }

  arrayBuffer() { throw new Error('the whole Blob was read with arrayBuffer()'); }
  text() { throw new Error('the whole Blob was read with text()'); }
  stream() { throw new Error('the whole Blob was read with stream()'); }
}

const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');

function recipient() {
  const secretKey = x25519.utils.randomSecretKey();
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

test('a 20 MB Blob is sealed 64 KiB slice by slice and opens to the same bytes', async () => {
  const random = seededRandom(SEED);
  const parts = Array.from({ length: 20 }, () => random.bytes(1_000_000));
  const blob = new WatchedBlob(parts);
  const me = recipient();
  const progress = [];
  const sealed = await encryptBlob(blob, [me.publicKey, recipient().publicKey], (done, total) => progress.push([done, total]));

  assert.ok(blob.sliceLengths.length >= Math.ceil(blob.size / 65536));
  assert.ok(blob.sliceLengths.every((n) => n > 0 && n <= 65536), 'a slice over 64 KiB was read');
  assert.equal(blob.sliceLengths.reduce((a, b) => a + b, 0), blob.size, 'every byte is read exactly once');
  assert.ok(progress.every(([done], i) => i === 0 || done > progress[i - 1][0]), 'progress only goes forward');
  assert.deepEqual(progress.at(-1), [blob.size, blob.size]);

  assert.ok(sealed instanceof Blob);
  const opened = decryptBytes(new Uint8Array(await sealed.arrayBuffer()), me.secretKey);
  assert.equal(opened.length, blob.size);
  assert.equal(sha(opened), sha(Buffer.concat(parts)));
});

test('encryptBlob cuts chunks at the format\'s boundaries (0, 1, 64 KiB ± 1, 128 KiB)', async () => {
  const random = seededRandom(SEED + 1);
  for (const size of [0, 1, 65535, 65536, 65537, 131072]) {
    const plaintext = random.bytes(size);
    const me = recipient();
    const envelope = new Uint8Array(await (await encryptBlob(new WatchedBlob([plaintext]), [me.publicKey])).arrayBuffer());
    const chunks = Math.max(1, Math.ceil(size / 65536));
    assert.equal(envelope.length, 9 + 80 + 32 + 24 + size + 17 * chunks, `size ${size}`);
    // libsodium reads it back with MESSAGE chunks then exactly one FINAL.
    const opened = sodiumOpen(envelope, me.publicKey, me.secretKey);
    assert.deepEqual(opened.tags, [...Array(chunks - 1).fill(0), 3], `size ${size}`);
    assert.equal(sha(opened.plaintext), sha(plaintext));
  }
});

test('encryptBlob refuses a file that shrinks while it is read', async () => {
  class ShrinkingBlob extends Blob {
    slice(start, end) { return super.slice(start, Math.min(end, start + 10)); }
  }
  await assert.rejects(encryptBlob(new ShrinkingBlob([new Uint8Array(100)]), [recipient().publicKey]),
    { name: 'DropCryptoError', message: /changed while it was being encrypted/ });
});
