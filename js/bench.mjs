// Measure the browser crypto under node (`npm run bench:js`): encryptBytes
// and decryptBytes throughput on 50 MB, encryptBlob on the same, and
// deriveCodename latency. Prints numbers; asserts nothing (timings are not
// tests). Run with the text loader: see the npm script.
import { performance } from 'node:perf_hooks';
import { x25519 } from '@noble/curves/ed25519.js';
import { deriveCodename, generateCodename } from './src/codename.js';
import { decryptBytes, encryptBlob, encryptBytes } from './src/envelope.js';

const SIZE = 50 * 1000 * 1000;
const secretKey = x25519.utils.randomSecretKey();
const recipients = [x25519.getPublicKey(secretKey), x25519.getPublicKey(x25519.utils.randomSecretKey())];
const plaintext = new Uint8Array(SIZE);
for (let at = 0; at < SIZE; at += 65536) crypto.getRandomValues(plaintext.subarray(at, at + 65536));

function time(label, run, bytes) {
  const start = performance.now();
  const result = run();
  const ms = performance.now() - start;
  console.log(`${label.padEnd(34)} ${ms.toFixed(1).padStart(8)} ms${bytes ? `  ${(bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s` : ''}`);
  return result;
}

encryptBytes(plaintext.subarray(0, 1 << 20), recipients); // warm up the JIT
const envelope = time('encryptBytes 50 MB, 2 recipients', () => encryptBytes(plaintext, recipients), SIZE);
time('decryptBytes 50 MB', () => decryptBytes(envelope, secretKey), SIZE);
const blobStart = performance.now();
await encryptBlob(new Blob([plaintext]), recipients);
const blobMs = performance.now() - blobStart;
console.log(`${'encryptBlob 50 MB'.padEnd(34)} ${blobMs.toFixed(1).padStart(8)} ms  ${(SIZE / 1e6 / (blobMs / 1000)).toFixed(1)} MB/s`);
const codename = generateCodename();
deriveCodename(codename);
const runs = 200;
const start = performance.now();
for (let i = 0; i < runs; i++) deriveCodename(codename);
console.log(`${'deriveCodename (mean of 200)'.padEnd(34)} ${((performance.now() - start) / runs).toFixed(2).padStart(8)} ms`);
