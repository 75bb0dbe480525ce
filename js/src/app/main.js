// The reporter pages' behaviour with JavaScript on, bundled to
// dropbox/static/js/drop-app.js and loaded after drop-crypto.js (both from
// 'self', so it runs under `script-src 'self'`; no inline code, no eval).
// Every page works without it: each handler only takes over a form that
// the server would also accept in its plain form.
import { openReplies, wireFollowUpForm, wireLogoutForm } from './inbox.js';
import { wireLoginForm } from './login.js';
import { wireReportForm } from './report.js';

function start() {
  const reportForm = document.getElementById('report-form');
  if (reportForm) wireReportForm(reportForm);
  const loginForm = document.getElementById('login-form');
  if (loginForm) wireLoginForm(loginForm);
  const decryptForm = document.getElementById('decrypt-form');
  if (decryptForm) wireLoginForm(decryptForm, { forgetOnLoad: false });
  const followUpForm = document.getElementById('followup-form');
  if (followUpForm) wireFollowUpForm(followUpForm);
  for (const form of document.querySelectorAll('form[action$="/logout"]')) wireLogoutForm(form);
  openReplies(Array.from(document.querySelectorAll('article.reply')));
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
