import { loadEnvelopeKeys, type EnvelopeKeys } from '../crypto/envelope.js';

/** MFA secrets and outbound codes: MFA_ENCRYPTION_KEYS, or KEYS_DIR/mfa-keys.json in development. */
export type MfaKeys = EnvelopeKeys;
export const loadMfaKeys = (opts: { json?: string; keysDir?: string }): MfaKeys =>
  loadEnvelopeKeys({ ...opts, env: 'MFA_ENCRYPTION_KEYS', fileName: 'mfa-keys.json' });
