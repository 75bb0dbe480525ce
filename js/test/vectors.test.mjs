// The shared drop/v1 test vectors (tests/vectors/cases/, format in
// tests/vectors/README.md), run against the JS implementation: the same
// files the Python core must pass. Every file is one test; an empty or
// missing directory fails rather than passing vacuously.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deriveCodename, normalizeCodename } from '../src/codename.js';
import { decryptBytes } from '../src/envelope.js';
import { decodeMessage } from '../src/messages.js';
import {
  IDENTITY_PREFIX, ONLINE_PREFIX, REPLY_PREFIX, RESPONDER_PREFIX, decodeKeyString, fingerprint, parseRecipient,
} from '../src/keystrings.js';
import { parseOnlineSecret, parseResponderIdentity } from '../src/secretstrings.js';

const CASES = fileURLToPath(new URL('../../tests/vectors/cases/', import.meta.url));
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

function readVector(name) {
  const text = readFileSync(join(CASES, name), 'ascii');
  const split = text.indexOf('\n\n');
  const headers = {};
  for (const line of text.slice(0, split).split('\n')) {
    const colon = line.indexOf(': ');
    headers[line.slice(0, colon)] = line.slice(colon + 2);
  }
  return { headers, body: new Uint8Array(Buffer.from(text.slice(split + 2).trim(), 'base64')) };
}

// Fails the named error class, or passes when the call succeeds and checks.
function expectOutcome(expect, failures, run, check) {
  if (expect === 'success') {
    check(run());
    return;
  }
  assert.ok(expect in failures, `unknown expect: ${expect}`);
  assert.throws(run, (error) => error.name === failures[expect] || assert.fail(`threw ${error.name}: ${error.message}`));
}

const KINDS = {
  envelope({ headers, body }) {
    const secretKey = headers.identity ? parseResponderIdentity(headers.identity).boxSecret
      : new Uint8Array(Buffer.from(headers['reply-secret'], 'hex'));
    expectOutcome(headers.expect,
      { 'no match': 'NoIdentityMatch', 'header failure': 'HeaderError', 'payload failure': 'PayloadError' },
      () => decryptBytes(body, secretKey),
      (plaintext) => assert.equal(sha256(plaintext), headers.payload));
  },

  codename({ headers, body }) {
    const typed = new TextDecoder('utf-8', { fatal: true }).decode(body);
    if (headers.expect === 'codename failure') {
      assert.throws(() => deriveCodename(typed), (error) => {
        assert.equal(error.name, 'CodenameError', error.message);
        if (headers.position !== undefined) assert.equal(error.position, Number(headers.position));
        return true;
      });
      return;
    }
    assert.equal(headers.expect, 'success');
    assert.equal(normalizeCodename(typed), headers.normalized);
    const keys = deriveCodename(typed);
    assert.equal(hex(keys.loginSecret), headers['login-secret']);
    assert.equal(hex(keys.replySecretKey), headers['reply-secret']);
    assert.equal(hex(keys.replyPublicKey), headers['reply-pk']);
    assert.equal(keys.replyPublicKeyString, headers['reply-key']);
  },

  keystring({ headers, body }) {
    const text = Buffer.from(body).toString('latin1');
    const parsers = {
      'drop-pub': (t) => { parseRecipient(t); return { payload: decodeKeyString(t, RESPONDER_PREFIX), fingerprint: fingerprint(t) }; },
      'drop-reply': (t) => { parseRecipient(t); return { payload: decodeKeyString(t, REPLY_PREFIX) }; },
      'DROP-SECRET': (t) => ({ payload: decodeKeyString(t, IDENTITY_PREFIX), public: parseResponderIdentity(t).publicKey }),
      'DROP-ONLINE-SECRET': (t) => { parseOnlineSecret(t); return { payload: decodeKeyString(t, ONLINE_PREFIX) }; },
    };
    const parse = parsers[headers['key-type']];
    assert.ok(parse, `unknown key-type ${headers['key-type']}`);
    expectOutcome(headers.expect, { 'key failure': 'KeyFormatError' }, () => parse(text), (result) => {
      assert.equal(hex(result.payload), headers.payload);
      if (headers.fingerprint) assert.equal(result.fingerprint, headers.fingerprint);
      if (headers.public) assert.equal(result.public, headers.public);
    });
  },

  message({ headers, body }) {
    expectOutcome(headers.expect, { 'message failure': 'MessageError' }, () => decodeMessage(body), (message) => {
      const decoded = { ...message };
      if (headers['text-sha256']) {
        assert.equal(sha256(Buffer.from(decoded.text, 'utf8')), headers['text-sha256']);
        decoded.text = null;
      }
      assert.deepEqual(decoded, JSON.parse(headers.decoded));
    });
  },
};

const files = existsSync(CASES) ? readdirSync(CASES).filter((name) => name.endsWith('.txt')).sort() : [];

test('the vector directory exists and holds vectors of every kind', () => {
  assert.ok(files.length > 0, `no vectors in ${CASES}: run .venv/bin/python tests/vectors/generate.py`);
  for (const kind of Object.keys(KINDS)) {
    assert.ok(files.some((name) => name.startsWith(`${kind}-`)), `no ${kind} vectors`);
  }
});

for (const name of files) {
  test(name, () => {
    const vector = readVector(name);
    const run = KINDS[vector.headers.kind];
    assert.ok(run, `unknown kind ${vector.headers.kind}`);
    run(vector);
  });
}
