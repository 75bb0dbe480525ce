// POST a FormData of envelopes with upload progress, expecting {"ok": ...} JSON.
import { PageError } from './recipients.js';
import { message } from './messages.js';
import { freshToken, isStaleToken } from './token.js';

function sendOnce(url, formData, csrfToken, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', url);
    request.responseType = 'json';
    request.setRequestHeader('Accept', 'application/json');
    if (csrfToken) request.setRequestHeader('X-CSRFToken', csrfToken);
    request.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable && onProgress) onProgress(Math.floor((100 * event.loaded) / event.total));
    });
    request.addEventListener('load', () => resolve({ status: request.status, body: request.response }));
    const failed = () => reject(new PageError(message('sendFailed', { detail: 'network error' })));
    request.addEventListener('error', failed);
    request.addEventListener('abort', failed);
    request.addEventListener('timeout', failed);
    request.send(formData);
  });
}

/**
 * Send `formData` to `url`. `onProgress(percent)` follows the upload.
 * Resolves when the server answers {"ok": true}; throws PageError otherwise,
 * with the server's own error text when it gave one. A refusal for an
 * expired token is retried once, with a fresh token, with the same envelopes
 * (the server kept nothing of the refused request).
 */
export async function postSealed(url, formData, csrfToken, onProgress) {
  let answer = await sendOnce(url, formData, csrfToken, onProgress);
  if (isStaleToken(answer.status, answer.body)) {
    const token = await freshToken();
    if (token !== null) {
      formData.set('csrf_token', token);
      answer = await sendOnce(url, formData, token, onProgress);
    }
  }
  const { status, body } = answer;
  if (status >= 200 && status < 300 && body && body.ok === true) return body;
  const detail = body && typeof body.error === 'string' ? body.error : `HTTP ${status}`;
  throw new PageError(message('sendFailed', { detail }));
}
