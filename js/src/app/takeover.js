// What every sealed form does on submit: take over from the plain form only
// when the crypto bundle is there, block double submits while sealing, and
// show a failure in the form's status region instead of losing it.
import { message } from './messages.js';
import { PageError } from './recipients.js';
import { setBusy, statusFor } from './status.js';

/**
 * On submit of `form`, run `send(form, status)` instead of posting the plain
 * form, unless `canSeal()` says this page cannot (then the plain form goes).
 */
export function sealOnSubmit(form, canSeal, send) {
  const status = statusFor(form);
  form.addEventListener('submit', (event) => {
    if (!canSeal()) return; // plain form
    event.preventDefault();
    if (!form.reportValidity()) return;
    setBusy(form, true);
    send(form, status)
      .catch((error) => {
        const text = error instanceof PageError
          ? error.message
          : message('cryptoFailed', { detail: error && error.message ? error.message : String(error) });
        status.show(text, true);
      })
      .finally(() => setBusy(form, false));
  });
}
