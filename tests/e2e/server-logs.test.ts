// No secret in any log the stack writes (issue 15, finding 4). PostgreSQL logs a
// slow statement (log_min_duration_statement) or a failed one with its bind
// parameters unless log_parameter_max_length(_on_error) = 0: a sign-in slower
// than the threshold (bcrypt under load) would write the password to the log.
// Here every statement is logged for the test's duration, then each log file
// is searched for the passwords used and checked to be readable by its owner only.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db, gateway, login, uniqueEmail } from './helpers.js';

const dataDir = path.resolve(process.env.TEST_STACK_DATA_DIR ?? '.data/test');
const pgData = path.join(dataDir, 'pg');
// Beside the cluster's real folder (scripts/lib/cluster.mjs: as root the cluster may live elsewhere).
const postgresLog = path.join(path.dirname(fs.existsSync(pgData) ? fs.realpathSync(pgData) : pgData), 'postgres.log');

function logFiles(): string[] {
  const logs = path.join(dataDir, 'logs');
  const files = [postgresLog];
  if (fs.existsSync(logs)) for (const f of fs.readdirSync(logs)) if (f.endsWith('.log')) files.push(path.join(logs, f));
  return files;
}

/** Every statement logged with its duration, as a slow one would be, until afterAll. */
async function logEveryStatement(on: boolean) {
  await db.query(on ? 'alter system set log_min_duration_statement = 0' : 'alter system reset log_min_duration_statement');
  await db.query('select pg_reload_conf()');
}

describe('server logs', () => {
  const marker = `server-logs-${crypto.randomBytes(6).toString('hex')}`;
  const passwords: string[] = [];
  beforeAll(async () => { await logEveryStatement(true); });
  afterAll(async () => { await logEveryStatement(false); });

  it('cannot find a password the stack was given in any log file it wrote', async () => {
    expect(fs.existsSync(postgresLog)).toBe(true);
    // A fresh connection reads the reloaded configuration: wait until the server has it.
    for (let i = 0; i < 100; i++) {
      const c = await db.connect();
      try { if ((await c.query('show log_min_duration_statement')).rows[0].log_min_duration_statement === '0') break; } finally { c.release(); }
      await new Promise((r) => setTimeout(r, 50));
    }
    // Sign-ups and sign-ins under load (concurrently), each with its own password.
    const users = Array.from({ length: 12 }, (_, i) => ({
      email: uniqueEmail(`logs-${i}`), password: `${marker} secret ${crypto.randomBytes(8).toString('hex')}`,
    }));
    passwords.push(...users.map((u) => u.password));
    const signups = await Promise.all(users.map((u) => gateway('/auth/signup', {
      method: 'POST', json: { email: u.email, password: u.password, first_name: 'Log', last_name: 'Test' } })));
    expect(signups.map((r) => r.status)).toEqual(users.map(() => 201));
    const logins = await Promise.all(users.flatMap((u) => [login(u.email, u.password), login(u.email, `${u.password} wrong`)]));
    expect(logins.map((r) => r.status).filter((s) => s === 200)).toHaveLength(users.length);
    passwords.push(...users.map((u) => `${u.password} wrong`));
    // The error path: a statement that fails with a password among its parameters.
    const failing = `${marker} failing ${crypto.randomBytes(8).toString('hex')}`;
    passwords.push(failing);
    await expect(db.query('select length($1::text) / 0', [failing])).rejects.toThrow(/division by zero/);
    // The server did log the statements (else this test would prove nothing).
    const pgText = fs.readFileSync(postgresLog, 'utf8');
    expect(pgText).toMatch(/duration: [\d.]+ ms {2}(execute|statement|bind)/);
    expect(pgText).toContain('division by zero');

    for (const file of logFiles()) {
      const text = fs.readFileSync(file, 'utf8');
      for (const p of passwords) expect(text.includes(p), `${path.basename(file)} holds a password`).toBe(false);
    }
  });

  it('cannot read a log file of the stack unless it is its owner (0600)', () => {
    const files = logFiles();
    expect(files.length).toBeGreaterThan(2);  // postgres.log, gateway.log, postgrest.log
    for (const f of files) {
      const mode = fs.statSync(f).mode & 0o777;
      expect(`${path.basename(f)} ${mode.toString(8)}`).toBe(`${path.basename(f)} 600`);
    }
    const settings = ['log_parameter_max_length', 'log_parameter_max_length_on_error', 'log_file_mode'];
    return db.query('select name, setting from pg_settings where name = any($1) order by name', [settings]).then((r) => {
      expect(r.rows).toEqual([
        { name: 'log_file_mode', setting: '0600' },
        { name: 'log_parameter_max_length', setting: '0' },
        { name: 'log_parameter_max_length_on_error', setting: '0' },
      ]);
    });
  });
});
