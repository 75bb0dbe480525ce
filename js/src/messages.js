// Messages inside envelopes (FORMAT.md §5), mirroring keys/messages.py:
// strict, versioned UTF-8 JSON, padded with spaces to a multiple of 512
// bytes so the envelope size says little about the text's length.
//
// In JS a message is a plain object with the wire field names (and `v: 1`,
// optional when encoding):
//   { v, type: 'report', category, urgency, text, reply_key, lang, attachments }
//   { v, type: 'followup', text, attachments }
//   { v, type: 'reply', text, responder }
//   attachments: [{ name, size, media_type, envelope_sha256 }]
// encodeMessage emits byte-for-byte what encode_message emits for the same
// message; decodeMessage accepts exactly what decode_message accepts.
import { isBytes } from '@noble/hashes/utils.js';
import { DropCryptoError, MessageError } from './errors.js';
import { REPLY_PREFIX, assertUsableX25519, decodeKeyString } from './keystrings.js';
import { parseStrictJson } from './strictjson.js';

export const FORMAT_VERSION = 1;
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
export const MAX_TEXT_BYTES = 1024 * 1024;
export const MAX_ATTACHMENTS = 100;
export const PAD_BLOCK = 512;
export const URGENCIES = Object.freeze(['normal', 'urgent', 'emergency']);

const CATEGORY = /^[a-z0-9_-]{1,32}$/;
const LANG = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/;
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
const LONE_SURROGATE = /[\ud800-\udfff]/u; // with the u flag, matches only unpaired halves
const FIELDS = {
  report: ['v', 'type', 'category', 'urgency', 'text', 'reply_key', 'lang', 'attachments'],
  followup: ['v', 'type', 'text', 'attachments'],
  reply: ['v', 'type', 'text', 'responder'],
};
const utf8Length = (text) => new TextEncoder().encode(text).length;
const codePoints = (text) => [...text].length; // Python's len()
const isPlainObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);
const fail = (message) => { throw new MessageError(message); };

function checkStr(value, what) {
  if (typeof value !== 'string') fail(`${what} must be a string`);
  if (LONE_SURROGATE.test(value)) fail(`${what} contains an unpaired surrogate, which is not valid Unicode`);
  return value;
}

function checkText(value) {
  checkStr(value, 'text');
  if (utf8Length(value) > MAX_TEXT_BYTES) fail('text is longer than 1 MiB');
  return value;
}

function checkLabel(value, what, maxChars) {
  checkStr(value, what);
  const length = codePoints(value);
  if (length < 1 || length > maxChars) fail(`${what} must be 1 to ${maxChars} characters`);
  if (CONTROL.test(value)) fail(`${what} must not contain control characters`);
  return value;
}

function checkKeys(obj, required, what) {
  const keys = Object.keys(obj).filter((key) => !(what === 'message' && key === 'pad'));
  const missing = required.filter((key) => !keys.includes(key)).sort();
  if (missing.length) fail(`${what} is missing ${missing.join(', ')}`);
  const unknown = keys.filter((key) => !required.includes(key)).sort();
  if (unknown.length) fail(`${what} has unknown keys: ${unknown.map((key) => `'${key}'`).join(', ')}`);
}

function checkAttachment(ref) {
  if (!isPlainObject(ref)) fail('each attachment must be an object');
  checkKeys(ref, ['name', 'size', 'media_type', 'envelope_sha256'], 'an attachment');
  const name = checkLabel(ref.name, 'attachment name', 255);
  if (name.includes('/') || name.includes('\\') || name === '.' || name === '..') {
    fail('attachment name must be a file name, not a path');
  }
  if (!Number.isSafeInteger(ref.size) || ref.size < 0) fail('attachment size must be an integer from 0 to 2^53-1');
  if (typeof ref.media_type !== 'string' || !MEDIA_TYPE.test(ref.media_type)) {
    fail("attachment media_type must look like 'type/subtype'");
  }
  if (typeof ref.envelope_sha256 !== 'string' || !SHA256_HEX.test(ref.envelope_sha256)) {
    fail('attachment envelope_sha256 must be 64 lowercase hex digits');
  }
  // Normalise -0 (valid JSON, equal to 0 in Python) so re-encoding gives "0".
  return { name, size: ref.size + 0, media_type: ref.media_type, envelope_sha256: ref.envelope_sha256 };
}

function checkAttachments(value) {
  if (!Array.isArray(value)) fail('attachments must be an array');
  const refs = value.map(checkAttachment);
  if (refs.length > MAX_ATTACHMENTS) fail(`a message lists at most ${MAX_ATTACHMENTS} attachments`);
  return refs;
}

function checkReplyKey(value) {
  checkStr(value, 'reply_key');
  try {
    assertUsableX25519(decodeKeyString(value, REPLY_PREFIX));
  } catch (error) {
    if (error instanceof DropCryptoError) fail(`reply_key is not a valid reply key: ${error.message}`);
    throw error;
  }
  return value;
}

// The validated message, fields in wire order (without v and pad).
function validated(obj) {
  if (obj.type === 'report') {
    if (typeof obj.category !== 'string' || !CATEGORY.test(obj.category)) {
      fail("category must be 1 to 32 of a-z, 0-9, '_' and '-'");
    }
    if (!URGENCIES.includes(obj.urgency)) fail("urgency must be 'normal', 'urgent' or 'emergency'");
    checkText(obj.text);
    const replyKey = checkReplyKey(obj.reply_key);
    const lang = obj.lang === undefined ? null : obj.lang;
    if (lang !== null && (typeof lang !== 'string' || lang.length > 35 || !LANG.test(lang))) {
      fail("lang must be null or a language tag such as 'en' or 'pt-BR'");
    }
    const attachments = checkAttachments(obj.attachments === undefined ? [] : obj.attachments);
    return { type: 'report', category: obj.category, urgency: obj.urgency, text: obj.text, reply_key: replyKey, lang, attachments };
  }
  if (obj.type === 'followup') {
    checkText(obj.text);
    return { type: 'followup', text: obj.text, attachments: checkAttachments(obj.attachments === undefined ? [] : obj.attachments) };
  }
  if (obj.type === 'reply') {
    checkText(obj.text);
    checkLabel(obj.responder, 'responder', 64);
    return { type: 'reply', text: obj.text, responder: obj.responder };
  }
  return fail("unknown message type; expected 'report', 'followup' or 'reply'");
}

/**
 * UTF-8 JSON of a message object (see the top of this file), padded with
 * spaces in "pad" to a multiple of 512 bytes. `v` (1), `lang` and
 * `attachments` may be omitted (null and [] then). Throws MessageError for
 * an invalid message or an unknown key.
 */
export function encodeMessage(message) {
  if (!isPlainObject(message)) fail('a message is an object');
  if (message.v !== undefined && message.v !== FORMAT_VERSION) fail('this software writes message version 1 only');
  if (Object.prototype.hasOwnProperty.call(FIELDS, message.type)) {
    // An unknown key is a caller's typo (say replyKey for reply_key): refuse it
    // rather than send a message that silently lacks the field.
    const unknown = Object.keys(message).filter((key) => !FIELDS[message.type].includes(key)).sort();
    if (unknown.length) fail(`message has unknown keys: ${unknown.map((key) => `'${key}'`).join(', ')}`);
  }
  const { type, ...fields } = validated(message);
  const body = { v: FORMAT_VERSION, type, ...fields, pad: '' };
  const size = utf8Length(JSON.stringify(body));
  body.pad = ' '.repeat((PAD_BLOCK - (size % PAD_BLOCK)) % PAD_BLOCK);
  return new TextEncoder().encode(JSON.stringify(body));
}

/**
 * Parse and validate a decrypted message; returns the message object with
 * `v` and without `pad`. Throws MessageError saying what is wrong.
 */
export function decodeMessage(data) {
  if (!isBytes(data)) throw new TypeError('decodeMessage takes a Uint8Array');
  if (data.length > MAX_MESSAGE_BYTES) fail('the message is larger than 4 MiB');
  let text;
  try {
    // ignoreBOM keeps a leading U+FEFF in the text, so it fails as JSON, as in Python.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(data);
  } catch {
    fail('the message is not valid UTF-8');
  }
  const obj = parseStrictJson(text);
  if (!isPlainObject(obj)) fail('the message must be a JSON object');
  if (obj.v !== FORMAT_VERSION) fail('unsupported message version (this software reads version 1)');
  if (typeof obj.type !== 'string' || !Object.prototype.hasOwnProperty.call(FIELDS, obj.type)) {
    fail("unknown message type; expected 'report', 'followup' or 'reply'");
  }
  checkKeys(obj, FIELDS[obj.type], 'message');
  const pad = obj.pad === undefined ? '' : obj.pad;
  if (typeof pad !== 'string' || pad.replace(/ /g, '') !== '') fail('pad must be a string of spaces');
  return { v: FORMAT_VERSION, ...validated(obj) };
}
