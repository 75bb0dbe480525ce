// The responders' public keys the browser seals to, from <body data-recipients-url>.
import { message } from './messages.js';

/** A failure the reporter should read as-is (already translated). */
export class PageError extends Error {
  constructor(text) {
    super(text);
    this.name = 'PageError';
  }
}

/**
 * Fetch and check the keyring. Resolves to the list of drop-pub-... strings.
 * Throws PageError when it cannot be fetched, or is empty, or holds a key
 * DropCrypto refuses: sealing to fewer responders than configured, or to
 * none, must never happen silently.
 */
export async function loadRecipients() {
  const url = document.body.dataset.recipientsUrl || '/keys.json';
  let body;
  try {
    const response = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    body = await response.json();
  } catch {
    throw new PageError(message('keysFailed'));
  }
  const recipients = Array.isArray(body?.recipients) ? body.recipients : [];
  if (recipients.length === 0) throw new PageError(message('noKeys'));
  for (const key of recipients) window.DropCrypto.parseRecipient(key);
  return recipients;
}
