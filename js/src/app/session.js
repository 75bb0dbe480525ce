// The reply secret key between login and inbox. It lives in sessionStorage
// (per tab, gone when the tab closes; Tor Browser keeps it in memory only)
// and is removed at logout and whenever the login page is shown.
const STORAGE_KEY = 'drop.replySecretKey';

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function fromHex(text) {
  if (!/^[0-9a-f]{64}$/.test(text)) return null;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function storeReplySecret(secretKey) {
  try {
    window.sessionStorage.setItem(STORAGE_KEY, toHex(secretKey));
  } catch {
    // Storage disabled: replies stay unreadable in this tab, nothing else breaks.
  }
}

/** The stored 32-byte X25519 secret key, or null. */
export function loadReplySecret() {
  try {
    return fromHex(window.sessionStorage.getItem(STORAGE_KEY) || '');
  } catch {
    return null;
  }
}

export function forgetReplySecret() {
  try {
    window.sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Nothing stored if storage is disabled.
  }
}
