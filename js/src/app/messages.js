// Words the page shows while it works. The server renders them, translated,
// into an inert JSON block (`<script type="application/json" id="drop-messages">`
// is data, not code, so `script-src 'self'` allows it); the English below is
// only the fallback when a key is missing from that block.
const FALLBACK = {
  preparing: 'Preparing encryption…',
  encryptingFile: 'Encrypting file {index} of {count}: {percent}%',
  encryptingReport: 'Encrypting your message…',
  uploading: 'Sending: {percent}%',
  sent: 'Sent. Your report was encrypted in this browser before it left.',
  followupSent: 'Sent. Your message was encrypted in this browser before it left.',
  noKeys: 'This drop has no responder keys configured, so nothing was sent. Please try again later.',
  keysFailed: 'Could not load the responders\' keys, so nothing was sent. Check your connection and try again.',
  sendFailed: 'Sending failed, so nothing was kept. Please try again. ({detail})',
  cryptoFailed: 'Encryption failed in this browser, so nothing was sent. ({detail})',
  badCodename: 'That codename is not valid: {detail}',
  derivingKeys: 'Checking your codename…',
  decrypting: 'Decrypting…',
  replyFailed: 'This reply could not be decrypted. ({detail})',
  emergencyNotice: 'You marked this as an emergency. Please also contact emergency services or someone you trust now.',
};

let loaded = null;

function catalog() {
  if (loaded === null) {
    loaded = {};
    const block = document.getElementById('drop-messages');
    if (block) {
      try {
        const parsed = JSON.parse(block.textContent || '{}');
        if (parsed && typeof parsed === 'object') loaded = parsed;
      } catch {
        // A broken catalog must not stop the page: fall back to English.
      }
    }
  }
  return loaded;
}

/** The message `key` with `{name}` placeholders filled from `vars` (as plain text). */
export function message(key, vars = {}) {
  const template = typeof catalog()[key] === 'string' ? catalog()[key] : FALLBACK[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}
