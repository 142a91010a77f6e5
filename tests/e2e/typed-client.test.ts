// The typed client in clients/ts (issue 19, "A typed client"): it signs a customer in
// and calls /rpc/me with types checked by tsc, it shows refusals as `error.code`, and its
// generated types are what `npm run client:generate` makes from this stack (the CI check).
import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { apiClient, gatewayClient } from '../../clients/ts/index.js';
import { GATEWAY_URL, POSTGREST_URL, uniqueEmail } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const GENERATED = path.join(ROOT, 'clients', 'ts', 'generated');

describe('the typed client (clients/ts)', () => {
  it('can sign up, sign in and call /rpc/me through the typed client', async () => {
    const gateway = gatewayClient(GATEWAY_URL);
    const email = uniqueEmail('typed');
    const password = `violet ${crypto.randomBytes(8).toString('hex')} lantern`;
    const signup = await gateway.POST('/auth/signup', { body: { email, password, first_name: 'Typed', last_name: 'Client' } });
    expect(signup.response.status).toBe(201);
    const userId: string | undefined = signup.data?.user_id;

    const login = await gateway.POST('/auth/login', { body: { email, password } });
    expect(login.error).toBeUndefined();
    if (!login.data || !('access_token' in login.data)) throw new Error(`no token pair: ${JSON.stringify(login.data)}`);

    const api = apiClient(POSTGREST_URL, { token: login.data.access_token });
    const { data: me, error } = await api.rpc('me');
    expect(error).toBeNull();
    // `me` is typed from the catalog: a misspelt column would not compile.
    const profile: { id: string | null; email: string | null } | null = me;
    expect(profile).toMatchObject({ id: userId, email });
  });

  it('cannot sign in with a wrong password (INVALID_CREDENTIALS): the typed error has the code', async () => {
    const gateway = gatewayClient(GATEWAY_URL);
    const { data, error, response } = await gateway.POST('/auth/login', { body: { email: uniqueEmail('typed-bad'), password: 'not the password at all' } });
    expect(data).toBeUndefined();
    expect(response.status).toBe(401);
    const code: string | undefined = error?.code;
    expect(code).toBe('INVALID_CREDENTIALS');
    expect(error).toEqual({ code: 'INVALID_CREDENTIALS', message: expect.any(String), hint: expect.any(String) });
  });

  it('cannot call /rpc/me with a malformed token (PGRST301): postgrest-js gives error.code', async () => {
    const { data, error, status } = await apiClient(POSTGREST_URL, { token: 'not.a.jwt' }).rpc('me');
    expect(data).toBeNull();
    expect(status).toBe(401);
    expect(error?.code).toBe('PGRST301');
  });

  it('has generated types that are current (else: npm run client:generate)', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'client-types-'));
    try {
      const zx = path.join(ROOT, 'node_modules', 'zx', 'build', 'cli.js');
      // GATEWAY_URL, POSTGREST_URL and DATABASE_URL of this stack are in the environment.
      await promisify(execFile)(process.execPath, [zx, 'scripts/client-generate.mjs', '--out', out], { cwd: ROOT, env: process.env, timeout: 60_000 });
      const generated = fs.readdirSync(out).sort();
      expect(fs.readdirSync(GENERATED).sort(), 'clients/ts/generated has other files than the generator makes').toEqual(generated);
      const stale = generated.filter((f) => fs.readFileSync(path.join(out, f), 'utf8') !== fs.readFileSync(path.join(GENERATED, f), 'utf8'));
      expect(stale.map((f) => `clients/ts/generated/${f}`),
        'the committed client types differ from the API: run `npm run client:generate` against a running stack (npm start) and commit the result').toEqual([]);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  }, 90_000);
});
