import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Where encrypted KYC documents live. Objects are opaque, already encrypted
 * blobs under random keys; the store never sees plaintext or names.
 *
 * Drivers (KYC_STORAGE_DRIVER):
 * - `local` (default): files under KYC_STORAGE_DIR (default: `<stack data dir>/kyc-documents`), mode 0600.
 * - `s3`: an S3-compatible bucket. Configuration: KYC_S3_ENDPOINT (e.g. https://s3.eu-central-1.amazonaws.com
 *   or a MinIO URL), KYC_S3_BUCKET, KYC_S3_REGION, KYC_S3_PREFIX (optional), credentials from the standard
 *   AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the instance role). The bucket should have versioning and
 *   object lock on, and no public access. It implements this same interface (put/get/delete by key) and is not
 *   part of this build: selecting it fails at start.
 */
export interface DocumentStore {
  readonly driver: string;
  put(key: string, data: Buffer): Promise<void>;
  get(key: string): Promise<Buffer>;
  delete(key: string): Promise<void>;
}

const KEY = /^[a-f0-9]{64}$/;
export const newObjectKey = () => crypto.randomBytes(32).toString('hex');

export function localStore(dir: string): DocumentStore {
  const file = (key: string) => {
    if (!KEY.test(key)) throw new Error('invalid object key');
    return path.join(dir, key.slice(0, 2), key);
  };
  return {
    driver: 'local',
    async put(key, data) {
      const f = file(key);
      await fs.mkdir(path.dirname(f), { recursive: true, mode: 0o700 });
      await fs.writeFile(f, data, { mode: 0o600, flag: 'wx' });
    },
    get: (key) => fs.readFile(file(key)),
    async delete(key) {
      await fs.rm(file(key), { force: true });
    },
  };
}
