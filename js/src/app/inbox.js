// The inbox with JavaScript on: replies arrive as ciphertext and are opened
// here with the reply secret key; follow-ups are sealed here like reports.
import { message } from './messages.js';
import { loadRecipients } from './recipients.js';
import { appendEnvelopes, sealFiles, sealMessage } from './seal.js';
import { forgetReplySecret, loadReplySecret } from './session.js';
import { sealOnSubmit } from './takeover.js';
import { postSealed } from './upload.js';

async function openReply(article, secretKey) {
  const body = article.querySelector('.reply-body');
  const response = await fetch(article.dataset.envelopeUrl, { credentials: 'same-origin', cache: 'no-store' });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const envelope = new Uint8Array(await response.arrayBuffer());
  const plaintext = window.DropCrypto.decryptBytes(envelope, secretKey);
  const reply = window.DropCrypto.decodeMessage(plaintext);
  plaintext.fill(0);
  // textContent, never innerHTML: a reply is text, whatever it contains.
  body.textContent = typeof reply.text === 'string' ? reply.text : '';
  body.removeAttribute('aria-busy');
}

/**
 * Decrypt every `article.reply` whose body the server left empty. Without a
 * stored reply key the server's own #decrypt-form (codename prompt) stays;
 * once every reply is open it is hidden.
 */
export async function openReplies(articles) {
  const pending = articles.filter((a) => {
    const body = a.querySelector('.reply-body');
    return a.dataset.envelopeUrl && body && body.textContent.trim() === '';
  });
  if (pending.length === 0) return;
  const secretKey = loadReplySecret();
  if (secretKey === null) return;
  let failures = 0;
  for (const article of pending) {
    const body = article.querySelector('.reply-body');
    body.setAttribute('aria-busy', 'true');
    body.textContent = message('decrypting');
    try {
      await openReply(article, secretKey);
    } catch (error) {
      failures += 1;
      body.removeAttribute('aria-busy');
      body.textContent = message('replyFailed', { detail: error && error.message ? error.message : String(error) });
      body.classList.add('error');
    }
  }
  secretKey.fill(0);
  const prompt = document.getElementById('decrypt-form');
  if (prompt && failures === 0) prompt.hidden = true;
}

async function sendFollowUp(form, status) {
  status.show(message('preparing'));
  const recipients = await loadRecipients();
  const files = form.elements.namedItem('attachments')?.files ?? [];
  const { envelopes, refs } = await sealFiles(files, recipients, status);
  status.show(message('encryptingReport'));
  const text = form.elements.namedItem('text')?.value ?? '';
  const followup = sealMessage({ v: 1, type: 'followup', text, attachments: refs }, recipients);
  const emergency = form.querySelector('input[name="urgency"][value="emergency"]')?.checked ?? false;
  const csrfToken = form.elements.namedItem('csrf_token')?.value ?? '';
  const body = new FormData();
  body.append('mode', 'sealed');
  body.append('csrf_token', csrfToken);
  body.append('emergency', emergency ? '1' : '0');
  appendEnvelopes(body, 'followup', [followup]);
  appendEnvelopes(body, 'attachment', envelopes);
  await postSealed(form.action, body, csrfToken, (percent) => status.show(message('uploading', { percent })));
  form.reset();
  status.show(message('followupSent'));
}

export function wireFollowUpForm(form) {
  sealOnSubmit(form, () => Boolean(window.DropCrypto), sendFollowUp);
}

/** Logging out forgets the reply secret key before the request leaves. */
export function wireLogoutForm(form) {
  form.addEventListener('submit', () => forgetReplySecret());
}
