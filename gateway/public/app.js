// The account security page: sign in (password, then passkey or authenticator
// code; or passwordless with a passkey), list and revoke sessions, register a
// passkey, set up an authenticator app. Talks only to the gateway (same origin).
// The access token lives in memory only.
'use strict';

const { startRegistration, startAuthentication, browserSupportsWebAuthn } = window.SimpleWebAuthnBrowser;
const $ = (id) => document.getElementById(id);
const state = { accessToken: null, refreshToken: null, mfaToken: null, totpConfig: null };

function show(message, isError = false) {
  const el = $('message');
  el.textContent = message;
  el.className = isError ? 'error' : '';
  el.hidden = !message;
}

async function api(path, { method = 'POST', body, auth = true } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (auth && state.accessToken) headers.authorization = `Bearer ${state.accessToken}`;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    // The API's error shape: {code, message, hint}; the page shows what happened and what to do.
    const err = new Error(data && data.message ? `${data.message}${data.hint ? ` ${data.hint}` : ''}` : `Request failed (${res.status})`);
    err.code = data && data.code;
    throw err;
  }
  return data;
}

function view(name) {
  $('reset').hidden = name !== 'reset';
  $('signin').hidden = name !== 'signin';
  $('mfa').hidden = name !== 'mfa';
  $('account').hidden = name !== 'account';
}

async function signedIn(tokens) {
  state.accessToken = tokens.access_token;
  state.refreshToken = tokens.refresh_token;
  state.mfaToken = null;
  await Promise.all([loadSessions(), loadPasskeys()]);
  view('account');
}

function text(tag, value, className) {
  const el = document.createElement(tag);
  el.textContent = value;
  if (className) el.className = className;
  return el;
}

async function loadSessions() {
  const { sessions } = await api('/auth/sessions', { method: 'GET' });
  const body = $('sessions').querySelector('tbody');
  body.replaceChildren();
  for (const s of sessions) {
    const tr = document.createElement('tr');
    tr.dataset.sessionId = s.id;
    const device = text('td', s.device_name || (s.user_agent || 'Unknown device').slice(0, 60), s.current ? 'current' : '');
    if (s.current) device.append(text('span', 'this device', 'tag'));
    tr.append(device, text('td', s.ip || ''), text('td', `${s.amr.join(' + ')} (${s.aal})`),
      text('td', new Date(s.last_activity_at).toLocaleString()));
    const cell = document.createElement('td');
    if (!s.current) {
      const b = text('button', 'Revoke', 'danger');
      b.type = 'button';
      b.addEventListener('click', () => run(async () => {
        await api(`/auth/sessions/${s.id}`, { method: 'DELETE' });
        show('The session was signed out.');
        await loadSessions();
      }));
      cell.append(b);
    }
    tr.append(cell);
    body.append(tr);
  }
}

async function loadPasskeys() {
  const { passkeys } = await api('/auth/passkeys', { method: 'GET' });
  const list = $('passkeys');
  list.replaceChildren(...passkeys.map((p) => text('li',
    `${p.label || 'Passkey'} · added ${new Date(p.created_at).toLocaleDateString()}${p.last_used_at ? ` · last used ${new Date(p.last_used_at).toLocaleString()}` : ''}`)));
  if (passkeys.length === 0) list.append(text('li', 'No passkey yet.'));
}

function showBackupCodes(codes) {
  if (!codes || codes.length === 0) return;
  $('backup-code-list').replaceChildren(...codes.map((c) => text('li', c)));
  $('backup-codes').hidden = false;
}

async function run(fn) {
  try {
    await fn();
  } catch (e) {
    show(e.message || String(e), true);
  }
}

$('signin-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  run(async () => {
    show('');
    const r = await api('/auth/login', { body: { email: $('email').value, password: $('password').value }, auth: false });
    $('password').value = '';
    if (r.mfa_required) {
      state.mfaToken = r.mfa_token;
      $('mfa-passkey-button').hidden = !r.methods.includes('webauthn');
      $('mfa-totp-form').hidden = !r.methods.includes('totp');
      view('mfa');
      return;
    }
    await signedIn(r);
    show('You are signed in.');
  });
});

$('passwordless-button').addEventListener('click', () => run(async () => {
  const optionsJSON = await api('/auth/passkeys/login/options', { body: {}, auth: false });
  const response = await startAuthentication({ optionsJSON });
  await signedIn(await api('/auth/passkeys/login/verify', { body: { response }, auth: false }));
  show('You are signed in with a passkey.');
}));

$('mfa-passkey-button').addEventListener('click', () => run(async () => {
  const optionsJSON = await api('/auth/passkeys/login/options', { body: { mfa_token: state.mfaToken }, auth: false });
  const response = await startAuthentication({ optionsJSON });
  await signedIn(await api('/auth/passkeys/login/verify', { body: { mfa_token: state.mfaToken, response }, auth: false }));
  show('You are signed in with your passkey as second factor.');
}));

$('mfa-totp-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  run(async () => {
    const r = await api('/auth/mfa/verify', { body: { mfa_token: state.mfaToken, method: 'totp', code: $('mfa-code').value.trim() }, auth: false });
    $('mfa-code').value = '';
    await signedIn(r);
    show('You are signed in.');
  });
});

$('signout-button').addEventListener('click', () => run(async () => {
  await api('/auth/logout', { body: undefined });
  state.accessToken = null;
  state.refreshToken = null;
  // Nothing of this account stays in the page for whoever signs in next.
  $('sessions').querySelector('tbody').replaceChildren();
  $('passkeys').replaceChildren();
  $('backup-code-list').replaceChildren();
  $('totp-qr').replaceChildren();
  $('totp-secret').textContent = '';
  $('backup-codes').hidden = true;
  $('totp-enroll').hidden = true;
  view('signin');
  show('You are signed out.');
}));

$('passkey-register-button').addEventListener('click', () => run(async () => {
  const optionsJSON = await api('/auth/passkeys/register/options', { body: {} });
  const response = await startRegistration({ optionsJSON });
  const r = await api('/auth/passkeys/register/verify', { body: { response, label: 'This device' } });
  showBackupCodes(r.backup_codes);
  await loadPasskeys();
  show('Your passkey is registered.');
}));

$('totp-enroll-button').addEventListener('click', () => run(async () => {
  const r = await api('/auth/mfa/totp/enroll', { body: { label: 'Authenticator app' } });
  state.totpConfig = r.config_id;
  const svg = new DOMParser().parseFromString(r.qr_svg, 'image/svg+xml').documentElement;
  $('totp-qr').replaceChildren(document.importNode(svg, true));
  $('totp-secret').textContent = r.secret;
  $('totp-enroll').hidden = false;
}));

$('totp-confirm-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  run(async () => {
    const r = await api('/auth/mfa/totp/confirm', { body: { config_id: state.totpConfig, code: $('totp-code').value.trim() } });
    $('totp-enroll').hidden = true;
    showBackupCodes(r.backup_codes);
    show('Your authenticator app is set up.');
  });
});

// A link from an e-mail: /account/#verify-email=<token> (and the like). The token is in the fragment, which the
// browser never sends to a server; it leaves the address bar at once, so neither history nor a shared screen keeps it.
const links = {
  'verify-email': { path: '/auth/email/verify', done: 'Your e-mail address is confirmed. You can sign in.' },
  'confirm-email-change': { path: '/auth/email/change/confirm', done: 'Your new e-mail address is confirmed. Sign in with it.' },
  'cancel-recovery': { path: '/auth/recovery/cancel', done: 'The account recovery is cancelled.' },
};
function openLink() {
  const m = /^#([a-z-]+)=([A-Za-z0-9_.~-]+)$/.exec(window.location.hash);
  if (!m) return;
  window.history.replaceState(null, '', window.location.pathname);
  const [, action, token] = m;
  if (action === 'reset-password') {
    view('reset');
    $('reset-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      run(async () => {
        await api('/auth/password/reset', { body: { token, new_password: $('new-password').value }, auth: false });
        $('new-password').value = '';
        view('signin');
        show('Your password is changed and every session was signed out. Sign in with the new password.');
      });
    });
    return;
  }
  const link = links[action];
  if (link) run(async () => {
    await api(link.path, { body: { token }, auth: false });
    show(link.done);
  });
}

if (!browserSupportsWebAuthn()) {
  $('passwordless-button').hidden = true;
  $('passkey-register-button').disabled = true;
}
view('signin');
openLink();
