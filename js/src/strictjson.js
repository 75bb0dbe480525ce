// A strict JSON reader for decrypted messages (FORMAT.md §5), accepting
// exactly what keys/messages.py accepts, so a message means the same thing
// on both sides. JSON.parse alone would not do: it silently keeps the last
// of duplicate keys and accepts fractions and exponents, both of which the
// Python side refuses. Nesting is bounded so hostile input cannot exhaust
// the stack.
import { MessageError } from './errors.js';

const MAX_DEPTH = 64;
const WHITESPACE = ' \t\n\r';
const SIMPLE_ESCAPES = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

class Reader {
  constructor(text) {
    this.text = text;
    this.at = 0;
  }

  fail(what) {
    throw new MessageError(what === undefined ? 'the message is not valid JSON' : what);
  }

  skipWhitespace() {
    while (this.at < this.text.length && WHITESPACE.includes(this.text[this.at])) this.at++;
  }

  value(depth) {
    if (depth > MAX_DEPTH) this.fail();
    this.skipWhitespace();
    const char = this.text[this.at];
    if (char === '{') return this.object(depth + 1);
    if (char === '[') return this.array(depth + 1);
    if (char === '"') return this.string();
    if (char === '-' || (char >= '0' && char <= '9')) return this.number();
    for (const [word, result] of [['true', true], ['false', false], ['null', null]]) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length;
        return result;
      }
    }
    for (const constant of ['NaN', 'Infinity', '-Infinity']) {
      if (this.text.startsWith(constant, this.at)) this.rejectNumber(constant);
    }
    return this.fail();
  }

  rejectNumber(text) {
    this.fail(`numbers must be integers without fraction or exponent, not ${JSON.stringify(text.slice(0, 20))}`);
  }

  number() {
    // Python's json: -?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?, with floats refused.
    const match = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/.exec(this.text.slice(this.at, this.at + 400));
    if (match === null) {
      if (this.text.startsWith('-Infinity', this.at)) this.rejectNumber('-Infinity');
      this.fail();
    }
    this.at += match[0].length;
    if (match[1] !== undefined || match[2] !== undefined) this.rejectNumber(match[0]);
    if (match[0].length > 16) this.fail('an integer in the message is too large');
    return Number(match[0]);
  }

  string() {
    this.at++; // opening quote
    let out = '';
    for (;;) {
      if (this.at >= this.text.length) this.fail();
      const char = this.text[this.at++];
      if (char === '"') return out;
      if (char < ' ') this.fail(); // raw control characters are not allowed in JSON strings
      if (char !== '\\') {
        out += char;
        continue;
      }
      const escape = this.text[this.at++];
      if (escape in SIMPLE_ESCAPES) {
        out += SIMPLE_ESCAPES[escape];
      } else if (escape === 'u' && /^[0-9a-fA-F]{4}$/.test(this.text.slice(this.at, this.at + 4))) {
        // Like Python, \uXXXX escapes may yield lone surrogates; the schema checks reject them.
        out += String.fromCharCode(parseInt(this.text.slice(this.at, this.at + 4), 16));
        this.at += 4;
      } else {
        this.fail();
      }
    }
  }

  array(depth) {
    this.at++;
    const out = [];
    this.skipWhitespace();
    if (this.text[this.at] === ']') {
      this.at++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth));
      this.skipWhitespace();
      const char = this.text[this.at++];
      if (char === ']') return out;
      if (char !== ',') this.fail();
    }
  }

  object(depth) {
    this.at++;
    // A null-prototype map, so keys such as "__proto__" are plain data.
    const out = Object.create(null);
    this.skipWhitespace();
    if (this.text[this.at] === '}') {
      this.at++;
      return out;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.at] !== '"') this.fail();
      const key = this.string();
      if (Object.prototype.hasOwnProperty.call(out, key)) {
        this.fail(`the key ${JSON.stringify(key)} appears twice in one object`);
      }
      this.skipWhitespace();
      if (this.text[this.at++] !== ':') this.fail();
      out[key] = this.value(depth);
      this.skipWhitespace();
      const char = this.text[this.at++];
      if (char === '}') return out;
      if (char !== ',') this.fail();
    }
  }
}

/**
 * Parse `text` as one JSON value. Objects come back with a null prototype.
 * Throws MessageError for invalid JSON, duplicate keys, non-integer numbers
 * (and NaN/Infinity), integers over 16 characters, or nesting over 64 deep.
 */
export function parseStrictJson(text) {
  const reader = new Reader(text);
  const result = reader.value(0);
  reader.skipWhitespace();
  if (reader.at !== text.length) reader.fail();
  return result;
}
