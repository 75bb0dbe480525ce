// Logging in with JavaScript on: the codename is turned into the login
// secret and the reply key here, and only the login secret is posted. The
// server answers {"ok": true, "inbox": url} or {"ok": false, "error": text}.
// The reply secret key is kept for the inbox in this tab's sessionStorage.
import { message } from './messages.js';
import { forgetReplySecret, storeReplySecret, toHex } from './session.js';
import { setBusy, statusFor } from './status.js';
import { freshToken, isStaleToken } from './token.js';

async function sendLoginSecret(url, csrfToken, loginSecret) {
  const body = new URLSearchParams();
  body.append('csrf_token', csrfToken);
  body.append('login_secret', toHex(loginSecret));
  let response;
  try {
    response = await fetch(url, {
      method: 'POST',
      body,
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
      redirect: 'error',
    });
    return { status: response.status, body: await response.json() };
  } catch {
    throw new Error(message('sendFailed', { detail: response ? `HTTP ${response.status}` : 'network error' }));
  }
}

async function postLoginSecret(form, loginSecret) {
  const csrf = form.elements.namedItem('csrf_token');
  let answer = await sendLoginSecret(form.action, csrf ? csrf.value : '', loginSecret);
  if (isStaleToken(answer.status, answer.body)) {
    // The login page sat open past its session: once more, with a fresh token.
    const token = await freshToken();
    if (token !== null) answer = await sendLoginSecret(form.action, token, loginSecret);
  }
  const { status, body } = answer;
  if (!body || body.ok !== true) {
    throw new Error(body && typeof body.error === 'string' ? body.error : `HTTP ${status}`);
  }
  return typeof body.inbox === 'string' && body.inbox.startsWith('/') ? body.inbox : '/inbox';
}

async function logIn(form, codenameField, status) {
  let derived;
  try {
    status.show(message('derivingKeys'));
    derived = window.DropCrypto.deriveCodename(codenameField.value);
  } catch (error) {
    codenameField.setAttribute('aria-invalid', 'true');
    codenameField.focus();
    throw new Error(message('badCodename', { detail: error.message }));
  }
  try {
    const inbox = await postLoginSecret(form, derived.loginSecret);
    storeReplySecret(derived.replySecretKey);
    // Clear the field so the codename does not linger in the page.
    codenameField.value = '';
    return inbox;
  } finally {
    derived.loginSecret.fill(0);
    derived.replySecretKey.fill(0);
  }
}

/**
 * Take over a form holding a `codename` field (#login-form, or the inbox's
 * #decrypt-form). `forgetOnLoad`: the login page means "not logged in in
 * this tab", so any reply key left from before is dropped.
 */
export function wireLoginForm(form, { forgetOnLoad = true } = {}) {
  if (forgetOnLoad) forgetReplySecret();
  const status = statusFor(form);
  const codenameField = form.elements.namedItem('codename');
  form.addEventListener('submit', (event) => {
    if (!window.DropCrypto || !codenameField) return; // plain form
    event.preventDefault();
    setBusy(form, true);
    logIn(form, codenameField, status)
      .then((inbox) => window.location.assign(inbox))
      .catch((error) => {
        forgetReplySecret();
        status.show(error.message, true);
        setBusy(form, false);
      });
  });
}
