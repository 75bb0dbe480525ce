// A fresh CSRF token when the page's own has expired (anonymous sessions end
// after 4 hours, logged-in ones sooner). The form's sealed envelopes are then
// sent once more with it, instead of asking the reporter to reload the page
// and lose what they wrote. The token endpoint answers only this origin: no
// CORS header is ever sent, so another site cannot read it.

// Flask-WTF tokens are URL-safe base64 and dots; anything else is not a token.
const TOKEN = /^[A-Za-z0-9_.-]{16,512}$/;

/**
 * Fetch a token for this session (the server opens a new one if it ended),
 * put it in every csrf_token field of the page, and return it; null when the
 * server did not give one, so the caller reports the original refusal.
 */
export async function freshToken() {
  const url = document.body.dataset.tokenUrl || '/csrf-token';
  let token;
  try {
    const response = await fetch(url, {
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json' },
      redirect: 'error',
    });
    if (!response.ok) return null;
    const body = await response.json();
    token = body && typeof body.csrf_token === 'string' ? body.csrf_token : '';
  } catch {
    return null;
  }
  if (!TOKEN.test(token)) return null;
  for (const field of document.querySelectorAll('input[name="csrf_token"]')) field.value = token;
  return token;
}

/** True for the server's answer to a stale or missing token (see dropbox/reporter/errors.py). */
export function isStaleToken(status, body) {
  return status === 400 && Boolean(body) && body.code === 'csrf';
}
