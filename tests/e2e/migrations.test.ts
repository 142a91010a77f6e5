// `npm run migrate:status` must say so clearly when a committed migration was
// edited after the fact. The check runs on a copy of the project, so the real
// files are never touched.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { db } from './helpers.js';

const root = path.resolve(import.meta.dirname, '../..');

function copyProject(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dwaybank-migrations-'));
  for (const f of ['.gmrc', 'package.json']) fs.copyFileSync(path.join(root, f), path.join(dir, f));
  for (const d of ['migrations', 'db', 'scripts']) fs.cpSync(path.join(root, d), path.join(dir, d), { recursive: true });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

function status(dir: string) {
  return spawnSync(process.execPath, [path.join(root, 'node_modules', 'zx', 'build', 'cli.js'), 'scripts/migrate.mjs', 'status'],
    { cwd: dir, env: process.env, encoding: 'utf8' });
}

describe('migrate:status', () => {
  const committed = fs.readdirSync(path.join(root, 'migrations', 'committed')).filter((f) => f.endsWith('.sql')).sort();

  it('has the seed\'s committed migrations in order', () => {
    expect(committed.slice(0, 2)).toEqual(['000001-create-users-table.sql', '000002-create-sessions-table.sql']);
  });

  it('can report that all committed migrations match their hashes', () => {
    const dir = copyProject();
    const r = status(dir);
    expect(r.stdout + r.stderr).toContain('All committed migrations match their hashes.');
    expect(r.stdout + r.stderr).not.toContain('TAMPERED');
  });

  it('cannot hide an edited committed migration (TAMPERED)', () => {
    const dir = copyProject();
    const file = path.join(dir, 'migrations', 'committed', committed[0]!);
    fs.appendFileSync(file, '\n-- a quiet edit\ngrant all on schema app to public;\n');
    const r = status(dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('TAMPERED');
    expect(r.stderr).toContain(committed[0]);
    execFileSync('rm', ['-rf', dir]);
  });
});

/** Runs a command in the copy as a DBA types it (README "Changing the schema"), on a database of its own. */
function sh(dir: string, dbName: string, command: string) {
  return spawnSync('bash', ['-c', command], {
    cwd: dir, encoding: 'utf8', env: { ...process.env, DATABASE_NAME: dbName, FORCE_COLOR: '0' }, timeout: 240_000,
  });
}

describe("the DBA's cycle, as the README tells it", () => {
  it('can change the schema in migrations/current/, watch, commit with a message, and see the result in db/schema.sql', async () => {
    const dir = copyProject();
    const dbName = `dba_${crypto.randomBytes(4).toString('hex')}`;
    try {
      const current = path.join(dir, 'migrations', 'current');
      for (const f of fs.readdirSync(current)) fs.rmSync(path.join(current, f));
      fs.writeFileSync(path.join(current, '1-dba-cycle.sql'),
        'create table if not exists app.dba_cycle_examples (id integer primary key);\n');

      const migrate = sh(dir, dbName, 'npm run migrate');
      expect(migrate.status, migrate.stdout + migrate.stderr).toBe(0);
      const watch = sh(dir, dbName, 'npm run migrate:watch -- --once');
      expect(watch.status, watch.stdout + watch.stderr).toBe(0);
      const commit = sh(dir, dbName, 'npm run migrate:commit -- --message "create x table"');
      expect(commit.status, commit.stdout + commit.stderr).toBe(0);
      const committed = fs.readdirSync(path.join(dir, 'migrations', 'committed'));
      expect(committed.at(-1)).toMatch(/^\d{6}-create-x-table\.sql$/);
      expect(fs.readFileSync(path.join(dir, 'db', 'schema.sql'), 'utf8')).toContain('CREATE TABLE app.dba_cycle_examples');

      const status = sh(dir, dbName, 'npm run migrate:status');
      expect(status.status, status.stdout + status.stderr).toBe(0);
      expect(status.stdout + status.stderr).toContain('All committed migrations match their hashes.');
      expect(status.stdout + status.stderr).not.toMatch(/pending/i);

      // CI fails when db/schema.sql was not committed with the migration that changed it.
      const fresh = fs.readFileSync(path.join(dir, 'db', 'schema.sql'), 'utf8');
      fs.copyFileSync(path.join(root, 'db', 'schema.sql'), path.join(dir, 'db', 'schema.sql'));
      const drift = sh(dir, dbName, 'npx zx scripts/check-schema.mjs');
      expect(drift.status).toBe(1);
      expect(drift.stdout).toContain('npm run db:schema');
      expect(fs.readFileSync(path.join(dir, 'db', 'schema.sql'), 'utf8')).toBe(fresh);
      const again = sh(dir, dbName, 'npx zx scripts/check-schema.mjs');
      expect(again.status, again.stdout).toBe(0);

      // An edited committed migration is reported, whichever migration it is.
      fs.appendFileSync(path.join(dir, 'migrations', 'committed', committed.at(-1)!), '\n-- a quiet edit\n');
      const tampered = sh(dir, dbName, 'npm run migrate:status');
      expect(tampered.status).toBe(1);
      expect(tampered.stderr).toContain('TAMPERED');
    } finally {
      await db.query(`drop database if exists ${dbName} with (force)`);
      await db.query(`drop database if exists ${dbName}_shadow with (force)`);
      execFileSync('rm', ['-rf', dir]);
    }
  }, 600_000);
});
