import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Envelope encryption for everything the gateway keeps encrypted at rest (MFA
 * secrets and outbound codes, KYC documents and their storage locations):
 * AES-256-GCM under keys that never enter the database (an env variable with
 * {kid: base64key}, or in development a key file under KEYS_DIR created on
 * first start, mode 0600). A ciphertext names its key id, so keys rotate: the
 * greatest kid encrypts, every listed key still decrypts. Buffers:
 * `DWK1 | kid length | kid | iv | tag | ciphertext`; strings:
 * `v1.<kid>.<iv>.<ciphertext>.<tag>` (base64url). The AAD binds each
 * ciphertext to its owner and object, so values cannot be swapped between rows.
 */
export interface EnvelopeKeys {
  kid: string;
  encrypt(plain: Buffer, aad: string): Buffer;
  decrypt(sealed: Buffer, aad: string): Buffer;
  seal(plain: string, aad: string): string;
  open(sealed: string, aad: string): string;
}

const KID = /^[A-Za-z0-9_-]{1,64}$/;
const MAGIC = Buffer.from('DWK1');

function parseKeys(json: string, where: string): Map<string, Buffer> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Error(`${where}: not valid JSON (expected {"kid": "base64 32-byte key"})`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${where}: expected an object {kid: base64key}`);
  const keys = new Map<string, Buffer>();
  for (const [kid, b64] of Object.entries(parsed as Record<string, unknown>)) {
    if (!KID.test(kid)) throw new Error(`${where}: bad key id "${kid}"`);
    const key = typeof b64 === 'string' ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
    if (key.length !== 32) throw new Error(`${where}: key "${kid}" must be 32 bytes, base64`);
    keys.set(kid, key);
  }
  if (keys.size === 0) throw new Error(`${where}: no keys`);
  return keys;
}

function loadKeyFile(dir: string, fileName: string): Map<string, Buffer> {
  const file = path.join(dir, fileName);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!fs.existsSync(file)) {
    const kid = new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14);
    try {
      fs.writeFileSync(file, JSON.stringify({ [kid]: crypto.randomBytes(32).toString('base64') }), { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  if ((fs.statSync(file).mode & 0o077) !== 0) throw new Error(`${file}: must not be readable by group or others (chmod 600)`);
  return parseKeys(fs.readFileSync(file, 'utf8'), file);
}

/** `env` names the variable holding the keys (for messages); `fileName` is the development key file. */
export function loadEnvelopeKeys(opts: { json?: string; keysDir?: string; env: string; fileName: string }): EnvelopeKeys {
  if (!opts.json && !opts.keysDir) throw new Error(`${opts.env} or KEYS_DIR is required`);
  const keys = opts.json ? parseKeys(opts.json, opts.env) : loadKeyFile(opts.keysDir!, opts.fileName);
  const kid = [...keys.keys()].sort().at(-1)!;
  const current = keys.get(kid)!;
  const cipher = (aad: string) => {
    const iv = crypto.randomBytes(12);
    const c = crypto.createCipheriv('aes-256-gcm', current, iv);
    c.setAAD(Buffer.from(aad));
    return { iv, c };
  };
  const decipher = (k: string, iv: Buffer, tag: Buffer, aad: string) => {
    const key = keys.get(k);
    if (!key) throw new Error('unknown key id');
    const d = crypto.createDecipheriv('aes-256-gcm', key, iv);
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(tag);
    return d;
  };
  return {
    kid,
    encrypt(plain, aad) {
      const { iv, c } = cipher(aad);
      const ct = Buffer.concat([c.update(plain), c.final()]);
      return Buffer.concat([MAGIC, Buffer.from([kid.length]), Buffer.from(kid), iv, c.getAuthTag(), ct]);
    },
    decrypt(sealed, aad) {
      if (sealed.length < 5 || !sealed.subarray(0, 4).equals(MAGIC)) throw new Error('not an encrypted document');
      const n = sealed[4]!;
      const k = sealed.subarray(5, 5 + n).toString();
      const iv = sealed.subarray(5 + n, 17 + n);
      const tag = sealed.subarray(17 + n, 33 + n);
      const d = decipher(k, iv, tag, aad);
      return Buffer.concat([d.update(sealed.subarray(33 + n)), d.final()]);
    },
    seal(plain, aad) {
      const { iv, c } = cipher(aad);
      const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return ['v1', kid, iv.toString('base64url'), ct.toString('base64url'), c.getAuthTag().toString('base64url')].join('.');
    },
    open(sealed, aad) {
      const [v, k, iv, ct, tag] = sealed.split('.');
      if (v !== 'v1' || !k || !iv || !ct || !tag) throw new Error('sealed value: unknown format');
      const d = decipher(k, Buffer.from(iv, 'base64url'), Buffer.from(tag, 'base64url'), aad);
      return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
    },
  };
}
