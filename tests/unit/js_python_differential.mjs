// Runs the browser implementation (js/src) on inputs chosen by
// tests/unit/test_js_python_differential.py and prints what it made of each,
// so the Python test can compare with keys/. Input on stdin: a JSON array of
// {kind: 'codename', input: string}, {kind: 'message', input: base64} or
// {kind: 'envelope', input: base64, secret: hex X25519 secret key}.
// Output: a JSON array, one result per input, in order.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { deriveCodename } from '../../js/src/codename.js';
import { decryptBytes } from '../../js/src/envelope.js';
import { DropCryptoError } from '../../js/src/errors.js';
import { decodeMessage, encodeMessage } from '../../js/src/messages.js';

const hex = (bytes) => Buffer.from(bytes).toString('hex');

function failure(error) {
  if (!(error instanceof DropCryptoError)) throw error; // a crash is a finding, not a result
  return { ok: false, error: error.name, position: error.position ?? null, count: error.count ?? null };
}

function runCodename(input) {
  try {
    const keys = deriveCodename(input);
    return { ok: true, login: hex(keys.loginSecret), reply: keys.replyPublicKeyString };
  } catch (error) {
    return failure(error);
  }
}

function runMessage(input) {
  try {
    const message = decodeMessage(new Uint8Array(Buffer.from(input, 'base64')));
    const { v, ...fields } = message;
    return { ok: true, reencoded: Buffer.from(encodeMessage(fields)).toString('base64') };
  } catch (error) {
    return failure(error);
  }
}

function runEnvelope(input, secret) {
  try {
    const plaintext = decryptBytes(new Uint8Array(Buffer.from(input, 'base64')), new Uint8Array(Buffer.from(secret, 'hex')));
    return { ok: true, sha256: createHash('sha256').update(plaintext).digest('hex') };
  } catch (error) {
    return failure(error);
  }
}

const RUNNERS = {
  codename: ({ input }) => runCodename(input),
  message: ({ input }) => runMessage(input),
  envelope: ({ input, secret }) => runEnvelope(input, secret),
};

const cases = JSON.parse(readFileSync(0, 'utf8'));
const results = cases.map((one) => RUNNERS[one.kind](one));
process.stdout.write(JSON.stringify(results));
