// RFC 4648 base32 without padding, for key strings (FORMAT.md §3).
// Only the codec lives here; the rules a key string must obey (one case,
// no padding, exact length, checksum, canonical ending) are checked in
// keystrings.js, in the same order as keys/encoding.py.

export const UPPER_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export const LOWER_ALPHABET = UPPER_ALPHABET.toLowerCase();

/** Encode bytes; `lowercase` selects the alphabet's case. */
export function base32Encode(bytes, lowercase) {
  const alphabet = lowercase ? LOWER_ALPHABET : UPPER_ALPHABET;
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += alphabet[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1; // keep only the unread bits, so the int never overflows
  }
  if (bits > 0) out += alphabet[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * Decode text already checked to hold only characters of `alphabet`.
 * Leftover bits of the last character are dropped, as RFC 4648 decoders do;
 * callers that need one spelling per key re-encode and compare.
 */
export function base32Decode(text, lowercase) {
  const alphabet = lowercase ? LOWER_ALPHABET : UPPER_ALPHABET;
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let index = 0;
  for (const char of text) {
    const value = alphabet.indexOf(char);
    if (value < 0) throw new RangeError('base32Decode: character outside the alphabet');
    buffer = (buffer << 5) | value;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[index++] = (buffer >>> bits) & 0xff;
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}
