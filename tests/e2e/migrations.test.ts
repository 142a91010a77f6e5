// `npm run migrate:status` must say so clearly when a committed migration was
// edited after the fact. The check runs on a copy of the project, so the real
// files are never touched.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

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
