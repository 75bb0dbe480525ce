// The DropCrypto API's own promises, beyond what the shared vectors cover:
// recipient handling, codename generation and error hygiene, message
// encoding byte-for-byte as keys/messages.py writes it, hashing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { x25519 } from '@noble/curves/ed25519.js';
import * as D from '../src/index.js';
import { WORDS } from '../src/wordlist.js';

const keyPair = () => {
  const secretKey = x25519.utils.randomSecretKey();
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
};
const stanzaCount = (envelope) => envelope[8];
const vectorBody = (name) => {
  const text = readFileSync(new URL(`../../tests/vectors/cases/${name}`, import.meta.url), 'ascii');
  return new Uint8Array(Buffer.from(text.slice(text.indexOf('\n\n') + 2).trim(), 'base64'));
};

test('recipients: strings and raw keys, duplicates dropped, 1 to 32 required', () => {
  const me = keyPair();
  const asString = D.formatReplyKey(me.publicKey);
  const envelope = D.encryptBytes(new Uint8Array([1, 2, 3]), [asString, me.publicKey, asString]);
  assert.equal(stanzaCount(envelope), 1);
  assert.deepEqual([...D.decryptBytes(envelope, me.secretKey)], [1, 2, 3]);

  const many = Array.from({ length: 32 }, () => keyPair().publicKey);
  assert.equal(stanzaCount(D.encryptBytes(new Uint8Array(0), many)), 32);
  assert.throws(() => D.encryptBytes(new Uint8Array(0), [...many, keyPair().publicKey]), { name: 'DropCryptoError', message: /1 to 32/ });
  assert.throws(() => D.encryptBytes(new Uint8Array(0), []), { name: 'DropCryptoError' });
  assert.throws(() => D.encryptBytes(new Uint8Array(0), [new Uint8Array(32)]), { name: 'KeyFormatError', message: /small-order/ });
  assert.throws(() => D.encryptBytes(new Uint8Array(0), ['drop-pub-nonsense']), { name: 'KeyFormatError' });
  assert.throws(() => D.parseRecipient('DROP-SECRET-AAAA'), { name: 'KeyFormatError' });
});

test('decryptBytes with the wrong key is NoIdentityMatch, and errors share one root', () => {
  const envelope = D.encryptBytes(new Uint8Array(10), [keyPair().publicKey]);
  assert.throws(() => D.decryptBytes(envelope, keyPair().secretKey), (error) =>
    error instanceof D.NoIdentityMatch && error instanceof D.DropCryptoError && error.name === 'NoIdentityMatch');
});

test('generateCodename: 8 distinct draws from the list, normalised already, different each time', () => {
  const seen = new Set();
  for (let i = 0; i < 200; i++) {
    const codename = D.generateCodename();
    const words = codename.split(' ');
    assert.equal(words.length, 8);
    assert.ok(words.every((word) => WORDS.includes(word)));
    assert.equal(D.normalizeCodename(codename), codename);
    seen.add(codename);
  }
  assert.equal(seen.size, 200);
});

test('codename errors name the position and count, never the word', () => {
  const words = D.generateCodename().split(' ');
  words[5] = 'qqqsecretqqq';
  assert.throws(() => D.normalizeCodename(words.join(' ')), (error) => {
    assert.equal(error.name, 'CodenameError');
    assert.equal(error.position, 6);
    assert.equal(error.count, 8);
    assert.doesNotMatch(error.message, /qqqsecretqqq/);
    return true;
  });
  assert.throws(() => D.normalizeCodename('abacus '.repeat(40)), { name: 'CodenameError', message: /too long/ });
  assert.throws(() => D.normalizeCodename('\u{1F600}'.repeat(257)), { name: 'CodenameError', message: /too long/ });
  assert.throws(() => D.normalizeCodename(42), { name: 'CodenameError' });
});

test('encodeMessage writes what keys/messages.py writes (the padded report vector)', () => {
  const body = vectorBody('message-report_padded.txt');
  assert.equal(body.length % 512, 0);
  assert.deepEqual(D.encodeMessage(D.decodeMessage(body)), body);
});

test('encodeMessage pads to 512, round-trips, and refuses unknown or invalid fields', () => {
  const { replyPublicKeyString } = D.deriveCodename(D.generateCodename());
  const report = { v: 1, type: 'report', category: 'harassment', urgency: 'urgent', text: 'é\n"\u2028😀',
    reply_key: replyPublicKeyString, lang: 'en', attachments: [{ name: 'a.png', size: 3, media_type: 'image/png', envelope_sha256: 'a'.repeat(64) }] };
  const bytes = D.encodeMessage(report);
  assert.equal(bytes.length % 512, 0);
  assert.deepEqual(D.decodeMessage(bytes), report);
  const { v, lang, ...minimal } = { ...report, attachments: [] };
  assert.deepEqual(D.decodeMessage(D.encodeMessage(minimal)), { ...report, attachments: [], lang: null });
  assert.throws(() => D.encodeMessage({ ...report, replyKey: 'x' }), { name: 'MessageError', message: /replyKey/ });
  assert.throws(() => D.encodeMessage({ ...report, v: 2 }), { name: 'MessageError' });
  assert.throws(() => D.encodeMessage({ ...report, text: '\ud800' }), { name: 'MessageError', message: /surrogate/ });
  assert.throws(() => D.encodeMessage({ ...report, reply_key: 'drop-reply-aaaa' }), { name: 'MessageError', message: /reply_key/ });
  assert.throws(() => D.encodeMessage({ type: 'note', text: '' }), { name: 'MessageError' });
});

test('decodeMessage refuses deep nesting and oversize input with MessageError, not a crash', () => {
  const deep = new TextEncoder().encode('['.repeat(100000) + ']'.repeat(100000));
  assert.throws(() => D.decodeMessage(deep), { name: 'MessageError' });
  assert.throws(() => D.decodeMessage(new Uint8Array(4 * 1024 * 1024 + 1)), { name: 'MessageError', message: /4 MiB/ });
  assert.throws(() => D.decodeMessage(new TextEncoder().encode('{"__proto__":1,"v":1}')), { name: 'MessageError' });
});

test('sha256Hex gives the same digest for bytes and for a Blob read in slices', async () => {
  const bytes = new Uint8Array(200000).map((_, i) => i * 7);
  const digest = await D.sha256Hex(bytes);
  assert.equal(digest, await D.sha256Hex(new Blob([bytes.subarray(0, 1000), bytes.subarray(1000)])));
  assert.equal(await D.sha256Hex(new Uint8Array(0)), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  await assert.rejects(D.sha256Hex('text'), TypeError);
});

test('fingerprint: 5 groups of 4 uppercase hex digits', () => {
  const text = readFileSync(new URL('../../tests/vectors/cases/keystring-pub_good.txt', import.meta.url), 'ascii');
  const expected = /^fingerprint: (.*)$/m.exec(text)[1];
  const key = Buffer.from(text.slice(text.indexOf('\n\n') + 2).trim(), 'base64').toString('ascii');
  assert.equal(D.fingerprint(key), expected);
  assert.match(expected, /^[0-9A-F]{4}( [0-9A-F]{4}){4}$/);
});
