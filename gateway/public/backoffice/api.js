// The back office's only way out: the gateway (same origin: /auth, /kyc/documents, /admin/events) and PostgREST
// (/rpc, at the origin the page's <meta name="dwaybank-api"> names, else this one). Tokens live in memory only.
const API = document.querySelector('meta[name="dwaybank-api"]').content || location.origin;

export const session = { access: null, refresh: null, expiresAt: 0, me: null };
const endedListeners = new Set();
/** Called with a message when the session ends on the server's side (signed out elsewhere, revoked, expired). */
export const onSessionEnded = (fn) => endedListeners.add(fn);

/** An error as the API words it: its message and hint are shown to the officer as they are. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `The request failed (HTTP ${status}).`);
    this.status = status;
    // PostgREST's older form puts the product's code in `details` (code PT4xx); the new one in `code`.
    this.code = typeof body?.code === 'string' && /^PT\d/.test(body.code) && typeof body.details === 'string' ? body.details : body?.code;
    this.hint = body?.hint || '';
  }
}

export function setTokens({ access_token, refresh_token, expires_in }) {
  session.access = access_token;
  if (refresh_token) session.refresh = refresh_token;
  session.expiresAt = Date.now() + expires_in * 1000;
}

export function clearSession() {
  Object.assign(session, { access: null, refresh: null, expiresAt: 0, me: null });
}

let refreshing = null;
async function freshToken() {
  if (!session.access || !session.refresh || Date.now() < session.expiresAt - 60_000) return session.access;
  refreshing ??= send('/auth/token/refresh', { body: { refresh_token: session.refresh }, auth: false })
    .then((pair) => setTokens(pair)).finally(() => { refreshing = null; });
  await refreshing;
  return session.access;
}

async function send(url, { method = 'POST', body, auth = true, raw = false, signal } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (auth) {
    const token = await freshToken();
    if (token) headers.authorization = `Bearer ${token}`;
  }
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  if (raw && res.ok) return res;
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (auth && res.status === 401 && session.access) for (const fn of endedListeners) fn(err.message);
    throw err;
  }
  return data;
}

/** A gateway route: `gw('/auth/login', { body })`. */
export const gw = (path, opts) => send(path, opts);
/** An api function through PostgREST: `rpc('kyc_queue', { risk_level: 'high' })`. */
export const rpc = (fn, args = {}) => send(`${API}/rpc/${fn}`, { body: args });
/** A file through the gateway's verified download, as a blob URL for an <img> or <iframe> (the response is no-store). */
export async function documentUrl(id) {
  const res = await send(`/kyc/documents/${encodeURIComponent(id)}`, { method: 'GET', raw: true });
  return URL.createObjectURL(await res.blob());
}

/**
 * The security event stream (Server-Sent Events over fetch, so the token goes in a header, never in a URL).
 * Calls onEvent({event, data}) for each; returns a function that closes the stream.
 */
export function securityEvents(onEvent, onError) {
  const controller = new AbortController();
  (async () => {
    const res = await send('/admin/events', { method: 'GET', raw: true, signal: controller.signal });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields = { event: 'message', data: '' };
        for (const line of block.split('\n')) {
          const m = /^(event|data|id): ?(.*)$/.exec(line);
          if (m) fields[m[1]] = m[1] === 'data' && fields.data ? `${fields.data}\n${m[2]}` : m[2];
        }
        if (fields.data) onEvent(fields);
      }
    }
  })().catch((err) => { if (!controller.signal.aborted) onError(err); });
  return () => controller.abort();
}
