// Shared pieces of the fault tests: a write load that remembers every write
// the client saw acknowledged, a verifier that looks for each of them in the
// database, and crash/restart helpers for a local PostgreSQL cluster.
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { privateLogFile } from '../../scripts/lib/stack.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const isRoot = process.getuid?.() === 0;
export const asPostgres = (cmd) => (isRoot ? ['runuser', '-u', 'postgres', '--', ...cmd] : cmd);
export function sh(cmd, { allowFail = false, env } = {}) {
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', env: env ?? process.env });
  if (r.status !== 0 && !allowFail) throw new Error(`${cmd.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r;
}

/** Classifies one reply: ok, refused (4xx), retryable (no connection, 502-504), fatal (any other 5xx). */
export function classify(status) {
  if (status === 0 || status === 502 || status === 503 || status === 504) return 'retryable';
  if (status >= 500) return 'fatal';
  if (status >= 400) return 'refused';
  return 'ok';
}

async function http(url, { method = 'POST', token, json, timeoutMs = 10_000 } = {}) {
  const headers = {};
  if (json !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  try {
    const res = await fetch(url, { method, headers, body: json === undefined ? undefined : JSON.stringify(json), signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let body = null;
    try { body = JSON.parse(text); } catch { body = text; }
    return { status: res.status, body, text };
  } catch (e) {
    return { status: 0, body: null, text: String(e?.cause?.code ?? e?.message ?? e) };
  }
}
export { http };

/**
 * A write load over HTTP: sign-ups, sign-ins and profile updates, by several
 * workers. Every acknowledged write is remembered; so are the figures.
 */
export class WriteLoad {
  constructor({ gatewayUrl, postgrestUrl, workers = 4, tag = 'load', profileUpdates = 5 }) {
    Object.assign(this, { gatewayUrl, postgrestUrl, workers, tag, profileUpdates });
    this.acked = { signups: new Map(), sessions: new Set(), profiles: new Map() }; // email -> {lastAcked, lastTried}
    this.figures = { requests: 0, ok: 0, refused: 0, retryable: 0, fatal: 0 };
    this.fatal = [];
    this.running = false;
  }

  note(what, r) {
    this.figures.requests++;
    const c = classify(r.status);
    this.figures[c]++;
    if (c === 'fatal') this.fatal.push(`${what}: ${r.status} ${String(r.text).slice(0, 200)}`);
    return c;
  }

  async worker(w) {
    const password = `steady ${crypto.randomBytes(6).toString('hex')} keel`;
    while (this.running) {
      const email = `${this.tag}-${w}-${Date.now()}-${crypto.randomBytes(3).toString('hex')}@faults.example`;
      const s = await http(`${this.gatewayUrl}/auth/signup`, { json: { email, password, first_name: 'Fault', last_name: 'V0' } });
      if (this.note('signup', s) !== 'ok') { await sleep(100); continue; }
      this.acked.signups.set(email, s.body.user_id);
      let token;
      for (let attempt = 0; attempt < 50 && this.running && !token; attempt++) {
        const l = await http(`${this.gatewayUrl}/auth/login`, { json: { email, password } });
        if (this.note('login', l) === 'ok') { token = l.body.access_token; this.acked.sessions.add(l.body.session_id); } else await sleep(100);
      }
      if (!token) continue;
      const p = { lastAcked: 0, lastTried: 0 };
      this.acked.profiles.set(email, p);
      for (let k = 1; k <= this.profileUpdates && this.running; k++) {
        p.lastTried = k;
        const u = await http(`${this.postgrestUrl}/rpc/update_my_profile`, { token, json: { last_name: `V${k}` } });
        if (this.note('update_my_profile', u) === 'ok') p.lastAcked = k; else await sleep(100);
      }
    }
  }

  start() {
    this.running = true;
    this.done = Promise.all(Array.from({ length: this.workers }, (_, w) => this.worker(w)));
    return this;
  }

  async stop() {
    this.running = false;
    await this.done;
  }

  /** Looks for every acknowledged write in the database at `url`. */
  async verify(url) {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const emails = [...this.acked.signups.keys()];
      const users = await c.query('select email::text as email, last_name from app.users where email = any($1::extensions.citext[])', [emails]);
      const found = new Map(users.rows.map((r) => [r.email.toLowerCase(), r.last_name]));
      const lost = [];
      for (const e of emails) if (!found.has(e.toLowerCase())) lost.push(`signup ${e}`);
      const sessions = [...this.acked.sessions];
      const s = await c.query('select id::text from app.user_sessions where id = any($1::uuid[])', [sessions]);
      const have = new Set(s.rows.map((r) => r.id));
      for (const id of sessions) if (!have.has(id)) lost.push(`session ${id}`);
      for (const [e, p] of this.acked.profiles) {
        const v = Number(String(found.get(e.toLowerCase()) ?? 'V-1').slice(1));
        // A write may commit without its reply arriving: the stored value is the last
        // acknowledged one or a later attempt, never an earlier one.
        if (p.lastAcked > 0 && !(v >= p.lastAcked && v <= p.lastTried)) lost.push(`profile ${e}: stored V${v}, acknowledged V${p.lastAcked}`);
      }
      const acked = emails.length + sessions.length + [...this.acked.profiles.values()].filter((p) => p.lastAcked > 0).length;
      return { acked, lost };
    } finally {
      await c.end();
    }
  }
}

/** The real data folder of a cluster (the stack may link it from elsewhere). */
export const realDir = (dir) => (fs.existsSync(dir) ? fs.realpathSync(dir) : dir);

/** kill -9 of the postmaster and all its children at once: a crash, not a shutdown. */
export function crashPostgres(dataDir) {
  const pidFile = path.join(realDir(dataDir), 'postmaster.pid');
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  const children = sh(['pgrep', '-P', String(pid)], { allowFail: true }).stdout.split('\n').filter(Boolean);
  sh(['kill', '-9', String(pid), ...children], { allowFail: true });
  return pid;
}

export function startCluster(bin, dataDir, logFile) {
  privateLogFile(logFile, { owner: isRoot ? 'postgres' : null });  // 0600, as the stack's own
  sh(asPostgres([path.join(bin, 'pg_ctl'), '-D', realDir(dataDir), '-l', logFile, '-w', '-t', '120', 'start']));
}

export function stopCluster(bin, dataDir, mode = 'fast') {
  sh(asPostgres([path.join(bin, 'pg_ctl'), '-D', realDir(dataDir), '-m', mode, '-w', 'stop']), { allowFail: true });
}

export async function waitUntil(fn, { timeoutMs = 60_000, every = 200, what = 'condition' } = {}) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try { if (await fn()) return; } catch { /* not yet */ }
    await sleep(every);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Polls a URL and counts the statuses it answers (0: no connection). */
export class Prober {
  constructor(url, init = {}) { Object.assign(this, { url, init }); this.statuses = {}; this.bodies500 = []; this.other = []; }
  start(every = 100) {
    this.running = true;
    this.done = (async () => {
      while (this.running) {
        const r = await http(this.url, { timeoutMs: 5_000, ...this.init });
        this.statuses[r.status] = (this.statuses[r.status] ?? 0) + 1;
        if (r.status >= 400 && r.status < 500 && this.other.length < 5) this.other.push(`${r.status} ${String(r.text).slice(0, 200)}`);
        if (r.status >= 500 && r.status !== 503 && this.bodies500.length < 5) this.bodies500.push(`${r.status} ${String(r.text).slice(0, 200)}`);
        await sleep(every);
      }
    })();
    return this;
  }
  async stop() { this.running = false; await this.done; }
  count(pred) { return Object.entries(this.statuses).filter(([s]) => pred(Number(s))).reduce((a, [, n]) => a + n, 0); }
}
