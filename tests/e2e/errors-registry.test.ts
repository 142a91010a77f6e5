// One registry of error codes (db/errors.md). A client handles a code it finds
// there; a code raised by SQL or answered by the gateway that the registry does
// not list (or lists with another status) is a bug this test catches:
// - SQL: every `raise sqlstate 'PGRST'` (code and status), every JSON `"code":"<CODE>"`
//   and every committed refusal in the live functions;
// - gateway: every `new ApiError(<status>, '<CODE>'` in gateway/src, and every
//   code an OpenAPI error response names.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { db, errorRegistry, gateway } from './helpers.js';

const root = path.resolve(import.meta.dirname, '../..');

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []);
}

const CODE = /\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g;

describe('error registry (db/errors.md)', () => {
  const codes = errorRegistry();

  it('lists the codes with their statuses', () => {
    expect(codes.size).toBeGreaterThan(50);
    expect(codes.get('INVALID_CREDENTIALS')).toEqual(new Set([401]));
  });

  it('lists every code (and its status) that SQL raises', async () => {
    const { rows } = await db.query<{ fn: string; src: string }>(`select p.oid::regprocedure::text as fn, p.prosrc as src
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname in ('api', 'app', 'app_private', 'audit')`);
    const missing: string[] = [];
    for (const { fn, src } of rows) {
      // raise sqlstate 'PGRST' using message = '{"code":"X",...}' (or json_build_object('code', 'X', ...)), detail = '{"status":N,...}'
      for (const m of src.matchAll(/raise sqlstate 'PGRST' using\s+message = ([\s\S]*?),\s*detail = ([^;]*);/g)) {
        const code = /"code":"([A-Z][A-Z0-9_]+)"|'code', '([A-Z][A-Z0-9_]+)'/.exec(m[1]!);
        const status = /"status":(\d{3})/.exec(m[2]!);
        const name = code?.[1] ?? code?.[2];
        if (!name || !status) missing.push(`a refusal without a literal code and status in ${fn}: ${m[0].slice(0, 120)}`);
        else if (!codes.get(name)?.has(Number(status[1]))) missing.push(`${name} (${status[1]}) raised by ${fn}`);
      }
      for (const m of src.matchAll(/"code":"([A-Z][A-Z0-9_]+)"/g)) {
        if (!codes.has(m[1]!)) missing.push(`${m[1]} (PGRST) raised by ${fn}`);
      }
      for (const m of src.matchAll(/refuse_committed\((\d{3}),\s*'([A-Z][A-Z0-9_]+)'/g)) {
        if (!codes.get(m[2]!)?.has(Number(m[1]))) missing.push(`${m[2]} (${m[1]}) answered by ${fn}`);
      }
    }
    expect([...new Set(missing)]).toEqual([]);
  });

  it('lists every code (and its status) that the gateway answers', () => {
    const missing: string[] = [];
    for (const file of walk(path.join(root, 'gateway', 'src'))) {
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/new ApiError\(\s*(\d{3})(?:\s+as\s+\d{3})?,\s*'([A-Z][A-Z0-9_]+)'/g)) {
        if (!codes.get(m[2]!)?.has(Number(m[1]))) missing.push(`${m[2]} (${m[1]}) in ${path.relative(root, file)}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('lists every code the OpenAPI document promises', async () => {
    const doc = (await gateway('/openapi.json')).body;
    const missing = new Set<string>();
    for (const [p, ops] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(ops)) {
        for (const [status, res] of Object.entries<any>(op.responses ?? {})) {
          if (Number(status) < 400) continue;
          for (const code of String(res.description ?? '').match(CODE) ?? []) {
            if (!codes.has(code)) missing.add(`${code} (${method.toUpperCase()} ${p} ${status})`);
          }
        }
      }
    }
    expect([...missing]).toEqual([]);
  });
});
