// The report form with JavaScript on: everything is sealed here, in the
// browser, before a byte leaves; the server receives only envelopes, the
// reply public key and the login secret. The codename is made here and
// shown once, and never sent anywhere.
import { message } from './messages.js';
import { loadRecipients } from './recipients.js';
import { appendEnvelopes, sealFiles, sealMessage } from './seal.js';
import { toHex } from './session.js';
import { sealOnSubmit } from './takeover.js';
import { postSealed } from './upload.js';

function fieldValue(form, name) {
  const field = form.elements.namedItem(name);
  if (!field) return '';
  return typeof field.value === 'string' ? field.value : '';
}

function showCodename(form, codename, emergency) {
  const panel = document.getElementById('codename-panel');
  const value = document.getElementById('codename-value');
  value.textContent = codename;
  if (emergency) {
    const notice = document.createElement('p');
    notice.className = 'notice';
    notice.setAttribute('role', 'alert');
    notice.textContent = message('emergencyNotice');
    panel.appendChild(notice);
  }
  // The crisis resources sit inside the form; they must stay in view once
  // the form is hidden, as on the plain (no-JavaScript) codename page.
  const crisis = document.getElementById('crisis-box');
  if (crisis && form.contains(crisis)) panel.appendChild(crisis);
  form.reset();
  form.hidden = true;
  panel.hidden = false;
  if (!panel.hasAttribute('tabindex')) panel.setAttribute('tabindex', '-1');
  panel.focus();
}

async function submitSealed(form, status) {
  status.show(message('preparing'));
  const recipients = await loadRecipients();
  const urgency = fieldValue(form, 'urgency') || 'normal';
  const files = form.elements.namedItem('attachments')?.files ?? [];
  const { envelopes, refs } = await sealFiles(files, recipients, status);

  status.show(message('encryptingReport'));
  const codename = window.DropCrypto.generateCodename();
  const derived = window.DropCrypto.deriveCodename(codename);
  const report = sealMessage(
    {
      v: 1,
      type: 'report',
      category: fieldValue(form, 'category'),
      urgency,
      text: fieldValue(form, 'text'),
      lang: fieldValue(form, 'lang') || null,
      reply_key: derived.replyPublicKeyString,
      attachments: refs,
    },
    recipients,
  );
  derived.replySecretKey.fill(0);

  const csrfToken = fieldValue(form, 'csrf_token');
  const body = new FormData();
  body.append('mode', 'sealed');
  body.append('csrf_token', csrfToken);
  body.append('reply_key', derived.replyPublicKeyString);
  body.append('login_secret', toHex(derived.loginSecret));
  body.append('emergency', urgency === 'emergency' ? '1' : '0');
  const honeypot = fieldValue(form, 'website');
  if (honeypot) body.append('website', honeypot);
  appendEnvelopes(body, 'report', [report]);
  appendEnvelopes(body, 'attachment', envelopes);
  derived.loginSecret.fill(0);

  await postSealed(form.action, body, csrfToken, (percent) =>
    status.show(message('uploading', { percent })),
  );
  status.show(message('sent'));
  showCodename(form, codename, urgency === 'emergency');
}

/** Take over `form` (#report-form): on submit, seal and send instead of posting plaintext. */
export function wireReportForm(form) {
  sealOnSubmit(form, () => Boolean(window.DropCrypto && document.getElementById('codename-panel')),
    submitSealed);
}
