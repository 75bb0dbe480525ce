// SHA-256 of an envelope, as hex: replies are signed over the envelope's
// SHA-256 (FORMAT.md §5), and the page shows it to let people compare.
// A Blob is hashed one slice at a time so a large attachment never has to
// sit whole in memory; noble rather than crypto.subtle because subtle has no
// incremental digest and is missing outside secure contexts.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, isBytes } from '@noble/hashes/utils.js';

const SLICE_BYTES = 65536;

/** Lowercase hex SHA-256 of a Uint8Array or a Blob. */
export async function sha256Hex(data) {
  if (isBytes(data)) return bytesToHex(sha256(data));
  if (typeof Blob !== 'undefined' && data instanceof Blob) {
    const hash = sha256.create();
    for (let offset = 0; offset < data.size; offset += SLICE_BYTES) {
      hash.update(new Uint8Array(await data.slice(offset, offset + SLICE_BYTES).arrayBuffer()));
    }
    return bytesToHex(hash.digest());
  }
  throw new TypeError('sha256Hex takes a Uint8Array or a Blob');
}
