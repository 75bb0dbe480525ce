// Differential tests: our noble-based sealed box, secretstream and envelope
// against libsodium itself (libsodium-wrappers), on seeded random cases in
// both directions. Replay a failure with DROP_TEST_SEED=<seed printed below>.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decryptBytes, encryptBytes } from '../src/envelope.js';
import { seal, sealOpen } from '../src/sealedbox.js';
import * as ss from '../src/secretstream.js';
import { isSmallOrder } from '../src/keystrings.js';
import { SEED, seededRandom } from './support/seeded.mjs';
import { sodium, sodiumOpen, sodiumSeal } from './support/sodium-envelope.mjs';

const TAGS = [ss.TAG_MESSAGE, ss.TAG_PUSH, ss.TAG_REKEY, ss.TAG_FINAL];
const EDGE_LENGTHS = [0, 1, 65535, 65536, 65537];
const hex = (bytes) => Buffer.from(bytes).toString('hex');
console.log(`differential tests seeded with DROP_TEST_SEED=${SEED}`);

function sodiumPull(state, chunk) {
  try {
    return sodium.crypto_secretstream_xchacha20poly1305_pull(state, chunk) || null;
  } catch {
    return null;
  }
}

// Lengths mixing the chunk-size edges with random ones.
function messageLength(random) {
  return random.below(3) === 0 ? random.pick(EDGE_LENGTHS) : random.below(4096);
}

test('sealed box: ours → libsodium and libsodium → ours, 200 cases', () => {
  const random = seededRandom(SEED);
  for (let i = 0; i < 100; i++) {
    const kp = sodium.crypto_box_seed_keypair(random.bytes(32));
    const message = random.bytes(random.below(300));
    assert.equal(hex(sodium.crypto_box_seal_open(seal(message, kp.publicKey), kp.publicKey, kp.privateKey)), hex(message), `case ${i}`);
    const theirs = sodium.crypto_box_seal(message, kp.publicKey);
    assert.equal(hex(sealOpen(theirs, kp.publicKey, kp.privateKey)), hex(message), `case ${i}`);
    // One flipped bit anywhere: both refuse.
    theirs[random.below(theirs.length)] ^= 1 << random.below(8);
    assert.equal(sealOpen(theirs, kp.publicKey, kp.privateKey), null, `tampered case ${i}`);
    assert.throws(() => sodium.crypto_box_seal_open(theirs, kp.publicKey, kp.privateKey));
  }
});

test('sealed box: small-order ephemeral keys do not open, and our blocklist is libsodium\'s', () => {
  const kp = sodium.crypto_box_keypair();
  const random = seededRandom(SEED);
  const candidates = [];
  for (const pkHex of ['00', '01', 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
    '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157', 'ecff', 'edff', 'eeff']) {
    const point = new Uint8Array(32);
    const bytes = Buffer.from(pkHex, 'hex');
    point.set(bytes);
    if (bytes.length === 2) point.fill(0xff, 1, 31), (point[31] = 0x7f);
    candidates.push(point, Uint8Array.from(point, (b, j) => (j === 31 ? b | 0x80 : b)));
  }
  for (const point of candidates) {
    assert.ok(isSmallOrder(point), hex(point));
    assert.throws(() => sodium.crypto_scalarmult(kp.privateKey, point), `libsodium accepts ${hex(point)}`);
    const forged = new Uint8Array(80);
    forged.set(point);
    forged.set(random.bytes(48), 32);
    assert.equal(sealOpen(forged, kp.publicKey, kp.privateKey), null);
  }
  for (let i = 0; i < 50; i++) {
    const point = sodium.crypto_box_keypair().publicKey;
    assert.equal(isSmallOrder(point), false);
  }
});

function streamCases(random, count) {
  return Array.from({ length: count }, () => Array.from({ length: 1 + random.below(5) },
    () => ({ length: messageLength(random), tag: random.pick(TAGS) })));
}

test('secretstream: our push → libsodium pull, 100 streams, every tag', () => {
  const random = seededRandom(SEED + 1);
  for (const [i, messages] of streamCases(random, 100).entries()) {
    const key = random.bytes(32);
    const { state, header } = ss.initPush(key);
    const theirs = sodium.crypto_secretstream_xchacha20poly1305_init_pull(header, key);
    for (const { length, tag } of messages) {
      const message = random.bytes(length);
      const chunk = ss.push(state, message, tag);
      assert.equal(chunk.length, length + ss.ABYTES);
      const opened = sodiumPull(theirs, chunk);
      assert.ok(opened, `stream ${i}: libsodium refused a chunk of ${length} bytes, tag ${tag}`);
      assert.equal(opened.tag, tag);
      assert.equal(hex(opened.message), hex(message), `stream ${i}`);
    }
  }
});

test('secretstream: libsodium push → our pull, 100 streams, every tag, tampering refused', () => {
  const random = seededRandom(SEED + 2);
  for (const [i, messages] of streamCases(random, 100).entries()) {
    const key = random.bytes(32);
    const { state, header } = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
    const ours = ss.initPull(header, key);
    for (const { length, tag } of messages) {
      const message = random.bytes(length);
      const chunk = sodium.crypto_secretstream_xchacha20poly1305_push(state, message, null, tag);
      const tampered = chunk.slice();
      tampered[random.below(tampered.length)] ^= 1 << random.below(8);
      assert.equal(ss.pull(ours, tampered), null, `stream ${i}: a tampered chunk was accepted`);
      const opened = ss.pull(ours, chunk); // a refused chunk must leave the state usable
      assert.ok(opened, `stream ${i}: we refused libsodium's chunk of ${length} bytes, tag ${tag}`);
      assert.equal(opened.tag, tag);
      assert.equal(hex(opened.message), hex(message), `stream ${i}`);
    }
  }
});

test('secretstream: the 32-bit counter wraps and rekeys as in libsodium', () => {
  // Reaching 2^32 chunks honestly is out of reach; instead both states are
  // set to counter 0xffffffff (libsodium's state: k[32], then the counter).
  const key = sodium.crypto_secretstream_xchacha20poly1305_keygen();
  for (const direction of ['sodium→ours', 'ours→sodium']) {
    const sodiumSide = direction === 'sodium→ours'
      ? sodium.crypto_secretstream_xchacha20poly1305_init_push(key) : null;
    const oursPush = direction === 'ours→sodium' ? ss.initPush(key) : null;
    const header = sodiumSide ? sodiumSide.header : oursPush.header;
    const ourState = oursPush ? oursPush.state : ss.initPull(header, key);
    const theirState = sodiumSide ? sodiumSide.state : sodium.crypto_secretstream_xchacha20poly1305_init_pull(header, key);
    for (let i = 0; i < 4; i++) sodium.libsodium.setValue(theirState + 32 + i, 0xff, 'i8');
    ourState.nonce.fill(0xff, 0, 4);
    for (let n = 0; n < 3; n++) {
      const message = sodium.randombytes_buf(100 + n);
      if (sodiumSide) {
        const chunk = sodium.crypto_secretstream_xchacha20poly1305_push(theirState, message, null, 0);
        assert.equal(hex(ss.pull(ourState, chunk).message), hex(message), `${direction} message ${n}`);
      } else {
        const opened = sodiumPull(theirState, ss.push(ourState, message, 0));
        assert.ok(opened, `${direction} message ${n}`);
        assert.equal(hex(opened.message), hex(message));
      }
    }
  }
});

function envelopeCase(random) {
  const me = sodium.crypto_box_seed_keypair(random.bytes(32));
  const others = Array.from({ length: random.below(4) }, () => sodium.crypto_box_seed_keypair(random.bytes(32)).publicKey);
  others.splice(random.below(others.length + 1), 0, me.publicKey);
  const length = random.below(2) ? random.pick([...EDGE_LENGTHS, 131072, 131073]) : random.below(200000);
  return { me, recipients: others, plaintext: random.bytes(length) };
}

test('envelope: libsodium-built envelopes open with ours, 30 cases', () => {
  const random = seededRandom(SEED + 3);
  for (let i = 0; i < 30; i++) {
    const { me, recipients, plaintext } = envelopeCase(random);
    const envelope = sodiumSeal(plaintext, recipients);
    assert.equal(hex(decryptBytes(envelope, me.privateKey)), hex(plaintext), `case ${i}, ${plaintext.length} bytes`);
  }
});

test('envelope: ours open with libsodium, chunked exactly as FORMAT.md §2 says, 30 cases', () => {
  const random = seededRandom(SEED + 4);
  for (let i = 0; i < 30; i++) {
    const { me, recipients, plaintext } = envelopeCase(random);
    const envelope = encryptBytes(plaintext, recipients);
    const opened = sodiumOpen(envelope, me.publicKey, me.privateKey);
    assert.equal(hex(opened.plaintext), hex(plaintext), `case ${i}`);
    const chunks = Math.max(1, Math.ceil(plaintext.length / 65536));
    assert.deepEqual(opened.tags, [...Array(chunks - 1).fill(ss.TAG_MESSAGE), ss.TAG_FINAL]);
    assert.ok(opened.chunkLengths.slice(0, -1).every((n) => n === 65553));
    assert.equal(envelope.length, 9 + 80 * recipients.length + 32 + 24 + plaintext.length + 17 * chunks);
  }
});
