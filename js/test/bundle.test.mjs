// The shipped bundle, dropbox/static/js/drop-crypto.js: it is what the
// sources build to, it uses no eval / Function / WebAssembly, and it works
// in a context where code generation from strings and wasm are disabled,
// the node equivalent of the pages' CSP (script-src 'self', no unsafe-eval,
// no wasm-unsafe-eval).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import vm from 'node:vm';
import * as esbuild from 'esbuild';
import { BUNDLES, buildOptions } from '../build.mjs';

const [CRYPTO_BUNDLE] = BUNDLES;
const exists = existsSync(CRYPTO_BUNDLE.outfile);
const code = exists ? readFileSync(CRYPTO_BUNDLE.outfile, 'utf8') : '';

test('the bundle on disk is what the current sources build to', async () => {
  assert.ok(exists, `${CRYPTO_BUNDLE.outfile} is missing: run \`npm run build\``);
  const fresh = await esbuild.build({ ...buildOptions(CRYPTO_BUNDLE), write: false });
  assert.equal(fresh.outputFiles[0].text, code, 'the bundle is stale: run `npm run build`');
});

test('the bundle contains no eval, no Function constructor, no WebAssembly', () => {
  assert.ok(exists, 'bundle missing: run `npm run build`');
  for (const forbidden of [/\beval\s*\(/, /new\s+Function\b/, /\bFunction\s*\(/, /WebAssembly/]) {
    assert.doesNotMatch(code, forbidden);
  }
});

test('the bundle leaves out the secret-key-string code of secretstrings.js', () => {
  assert.ok(exists, 'bundle missing: run `npm run build`');
  assert.doesNotMatch(code, /certificate was issued for a different key/);
});

function strictContext() {
  const sandbox = { crypto: globalThis.crypto, TextEncoder, TextDecoder, Blob, console };
  sandbox.window = sandbox;
  sandbox.self = sandbox;
  // Like the CSP: eval / new Function throw EvalError, WebAssembly compilation is refused.
  const context = vm.createContext(sandbox, { codeGeneration: { strings: false, wasm: false } });
  vm.runInContext(code, context, { filename: 'drop-crypto.js' });
  return context;
}

test('the bundle sets window.DropCrypto with the documented API', () => {
  const context = strictContext();
  const api = vm.runInContext('window.DropCrypto', context);
  for (const name of ['generateCodename', 'normalizeCodename', 'deriveCodename', 'parseRecipient', 'encryptBytes',
    'encryptBlob', 'decryptBytes', 'encodeMessage', 'decodeMessage', 'sha256Hex']) {
    assert.equal(typeof api[name], 'function', name);
  }
  // The strict context really is strict.
  assert.throws(() => vm.runInContext('eval("1")', context), { name: 'EvalError' });
});

test('the bundle round-trips a codename, a message and an envelope under the strict context', async () => {
  const context = strictContext();
  // Run inside the context so every typed array belongs to its realm, as in a page.
  const result = await vm.runInContext(`(async () => {
    const D = window.DropCrypto;
    const codename = D.generateCodename();
    const keys = D.deriveCodename(' ' + codename.toUpperCase().split(' ').join('\\t ') + ' ');
    const again = D.deriveCodename(codename);
    const message = D.encodeMessage({ type: 'reply', text: 'é ✓ ' + 'x'.repeat(70000), responder: 'Desk' });
    const envelope = D.encryptBytes(message, [keys.replyPublicKeyString]);
    const reply = D.decodeMessage(D.decryptBytes(envelope, again.replySecretKey));
    const blobEnvelope = await D.encryptBlob(new Blob([message]), [keys.replyPublicKey]);
    const fromBlob = D.decodeMessage(D.decryptBytes(new Uint8Array(await blobEnvelope.arrayBuffer()), keys.replySecretKey));
    envelope[envelope.length - 1] ^= 1;
    let tamper = null;
    try { D.decryptBytes(envelope, keys.replySecretKey); } catch (error) {
      tamper = error instanceof D.PayloadError && error instanceof D.DropCryptoError ? error.name : 'wrong type';
    }
    return JSON.stringify({
      words: codename.split(' ').length,
      sameKeys: keys.replyPublicKeyString === again.replyPublicKeyString,
      text: reply.text.slice(0, 4), length: reply.text.length, fromBlob: fromBlob.text === reply.text,
      digest: await D.sha256Hex(new Uint8Array(0)), tamper,
    });
  })()`, context);
  assert.deepEqual(JSON.parse(result), {
    words: 8, sameKeys: true, text: 'é ✓ ', length: 70004, fromBlob: true,
    digest: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', tamper: 'PayloadError',
  });
});
