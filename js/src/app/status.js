// The live region a form reports its progress in (role="status",
// aria-live="polite" in the template, so screen readers announce changes).

/** A writer for the status element inside `form` or, failing that, #form-status. */
export function statusFor(form) {
  const element = form.querySelector('[role="status"]') || document.getElementById('form-status');
  return {
    /**
     * Show `text` (never HTML). The region stays role="status": screen
     * readers handle a live region whose role changes poorly, and a polite
     * announcement reaches someone who is waiting for the result anyway.
     */
    show(text, isError = false) {
      if (!element) return;
      element.textContent = text;
      element.classList.toggle('error', isError);
    },
  };
}

/** Disable every submit button of `form` while `busy`, so a report cannot go twice. */
export function setBusy(form, busy) {
  form.setAttribute('aria-busy', busy ? 'true' : 'false');
  for (const button of form.querySelectorAll('button, input[type="submit"]')) {
    button.disabled = busy;
  }
}
