// POST a FormData of envelopes with upload progress, expecting {"ok": ...} JSON.
import { PageError } from './recipients.js';
import { message } from './messages.js';

/**
 * Send `formData` to `url`. `onProgress(percent)` follows the upload.
 * Resolves when the server answers {"ok": true}; throws PageError otherwise,
 * with the server's own error text when it gave one.
 */
export function postSealed(url, formData, csrfToken, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', url);
    request.responseType = 'json';
    request.setRequestHeader('Accept', 'application/json');
    if (csrfToken) request.setRequestHeader('X-CSRFToken', csrfToken);
    request.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable && onProgress) onProgress(Math.floor((100 * event.loaded) / event.total));
    });
    request.addEventListener('load', () => {
      const body = request.response;
      if (request.status >= 200 && request.status < 300 && body && body.ok === true) {
        resolve(body);
        return;
      }
      const detail = body && typeof body.error === 'string' ? body.error : `HTTP ${request.status}`;
      reject(new PageError(message('sendFailed', { detail })));
    });
    const failed = () => reject(new PageError(message('sendFailed', { detail: 'network error' })));
    request.addEventListener('error', failed);
    request.addEventListener('abort', failed);
    request.addEventListener('timeout', failed);
    request.send(formData);
  });
}
