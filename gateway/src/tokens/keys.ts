import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import * as jose from 'jose';

export type SigningAlg = 'EdDSA' | 'ES256';
const algs: readonly SigningAlg[] = ['EdDSA', 'ES256'];

interface PrivateJwk extends jose.JWK {
  kid: string;
  alg: SigningAlg;
  d: string;
}

export interface SigningKey {
  kid: string;
  alg: SigningAlg;
  key: jose.CryptoKey;
}

export interface KeyRing {
  /** The key that signs new tokens: the newest one. */
  signing: SigningKey;
  /** Every key's public half; tokens signed by an older key stay valid until they expire. */
  jwks: { keys: jose.JWK[] };
  algorithms: SigningAlg[];
}

const KEY_FILE = /\.jwk\.json$/;

/** Public members only, named one by one, so a private member can never slip into the JWKS. */
function publicJwk(k: PrivateJwk): jose.JWK {
  const { kty, crv, x, y, kid, alg } = k;
  return Object.fromEntries(Object.entries({ kty, crv, x, y, kid, alg, use: 'sig' }).filter(([, v]) => v !== undefined));
}

function checkJwk(k: unknown, where: string): PrivateJwk {
  const jwk = k as Partial<PrivateJwk>;
  if (!jwk || typeof jwk !== 'object') throw new Error(`${where}: not a JWK object`);
  if (typeof jwk.kid !== 'string' || !/^[A-Za-z0-9_.-]{1,100}$/.test(jwk.kid)) throw new Error(`${where}: missing or bad "kid"`);
  if (!algs.includes(jwk.alg as SigningAlg)) throw new Error(`${where}: "alg" must be one of ${algs.join(', ')}`);
  if (typeof jwk.d !== 'string') throw new Error(`${where}: not a private key (no "d")`);
  return jwk as PrivateJwk;
}

/** Sortable by creation time, so "newest signs" needs no other metadata. */
function newKid(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${crypto.randomBytes(4).toString('hex')}`;
}

export async function generatePrivateJwk(alg: SigningAlg): Promise<PrivateJwk> {
  const { privateKey } = await jose.generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  return { ...(await jose.exportJWK(privateKey)), kid: newKid(), alg } as PrivateJwk;
}

/** Development keys: one private JWK per file (mode 0600); creates the first one. */
async function loadKeyDir(dir: string, alg: SigningAlg): Promise<PrivateJwk[]> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  let files = fs.readdirSync(dir).filter((f) => KEY_FILE.test(f));
  if (files.length === 0) {
    const jwk = await generatePrivateJwk(alg);
    fs.writeFileSync(path.join(dir, `${jwk.kid}.jwk.json`), JSON.stringify(jwk), { mode: 0o600, flag: 'wx' });
    files = [`${jwk.kid}.jwk.json`];
  }
  return files.map((f) => {
    const file = path.join(dir, f);
    if ((fs.statSync(file).mode & 0o077) !== 0) throw new Error(`${file}: a private key must not be readable by group or others (chmod 600)`);
    return checkJwk(JSON.parse(fs.readFileSync(file, 'utf8')), file);
  });
}

function parsePrivateJwks(text: string): PrivateJwk[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('JWT_PRIVATE_JWKS: not valid JSON');
  }
  const keys = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new Error('JWT_PRIVATE_JWKS: expected {"keys":[...]} with at least one key');
  return keys.map((k, i) => checkJwk(k, `JWT_PRIVATE_JWKS.keys[${i}]`));
}

/**
 * Loads the signing keys: from JWT_PRIVATE_JWKS when given (required in
 * production), else from KEYS_DIR. Kids sort by creation time; the greatest signs.
 */
export async function loadKeys(opts: { privateJwks?: string; keysDir?: string; alg: SigningAlg }): Promise<KeyRing> {
  const all = opts.privateJwks ? parsePrivateJwks(opts.privateJwks) : await loadKeyDir(opts.keysDir!, opts.alg);
  const kids = new Set<string>();
  for (const k of all) {
    if (kids.has(k.kid)) throw new Error(`duplicate kid ${k.kid}`);
    kids.add(k.kid);
  }
  const sorted = [...all].sort((a, b) => (a.kid < b.kid ? 1 : a.kid > b.kid ? -1 : 0));
  const newest = sorted[0]!;
  return {
    signing: { kid: newest.kid, alg: newest.alg, key: (await jose.importJWK(newest, newest.alg)) as jose.CryptoKey },
    jwks: { keys: sorted.map(publicJwk) },
    algorithms: [...new Set(sorted.map((k) => k.alg))],
  };
}

/** Writes the public JWKS atomically: PostgREST may read it at any moment. */
export function writeJwksFile(file: string, jwks: KeyRing['jwks']): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(jwks), { mode: 0o644 });
  fs.renameSync(tmp, file);
}
