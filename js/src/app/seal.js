// Sealing what a form holds: each chosen file to its own envelope, then the
// message (which lists the files by their envelope's SHA-256) to another.
import { message } from './messages.js';

// FORMAT.md §5 limits, checked here so a strange file name or type never
// makes the whole report undecodable for the responders.
const MAX_NAME_CHARS = 255;
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

/** A file name the message format accepts: no path separators or control characters. */
export function safeFileName(name) {
  const cleaned = Array.from(String(name || ''), (ch) => (/[\u0000-\u001f\u007f-\u009f/\\]/.test(ch) ? '_' : ch))
    .slice(0, MAX_NAME_CHARS)
    .join('');
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? 'attachment' : cleaned;
}

function safeMediaType(type) {
  return MEDIA_TYPE.test(type || '') ? type : 'application/octet-stream';
}

/**
 * Seal every file of `files` (a FileList) to `recipients`, one at a time,
 * streaming each through DropCrypto.encryptBlob. Resolves to
 * {envelopes: Blob[], refs: AttachmentRef[]} in the files' order.
 */
export async function sealFiles(files, recipients, status) {
  const envelopes = [];
  const refs = [];
  const count = files.length;
  for (let i = 0; i < count; i++) {
    const file = files[i];
    const progress = (done, total) => {
      const percent = total === 0 ? 100 : Math.floor((100 * done) / total);
      status.show(message('encryptingFile', { index: i + 1, count, percent }));
    };
    progress(0, file.size);
    const envelope = await window.DropCrypto.encryptBlob(file, recipients, progress);
    refs.push({
      name: safeFileName(file.name),
      size: file.size,
      media_type: safeMediaType(file.type),
      envelope_sha256: await window.DropCrypto.sha256Hex(envelope),
    });
    envelopes.push(envelope);
  }
  return { envelopes, refs };
}

/** Seal a message object (FORMAT.md §5) to `recipients` as one envelope Blob. */
export function sealMessage(object, recipients) {
  const bytes = window.DropCrypto.encodeMessage(object);
  const envelope = window.DropCrypto.encryptBytes(bytes, recipients);
  bytes.fill(0);
  return new Blob([envelope], { type: 'application/octet-stream' });
}

/**
 * Append envelopes to `formData` under `field`. The part's filename is a
 * fixed word: the original file name is inside the envelope, never beside it.
 */
export function appendEnvelopes(formData, field, envelopes) {
  for (const envelope of envelopes) formData.append(field, envelope, `${field}.env`);
}
