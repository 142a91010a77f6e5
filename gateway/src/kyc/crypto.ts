import { loadEnvelopeKeys, type EnvelopeKeys } from '../crypto/envelope.js';

/** KYC documents and storage locations: KYC_ENCRYPTION_KEYS, or KEYS_DIR/kyc-keys.json in development. */
export type KycKeys = EnvelopeKeys;
export const loadKycKeys = (opts: { json?: string; keysDir?: string }): KycKeys =>
  loadEnvelopeKeys({ ...opts, env: 'KYC_ENCRYPTION_KEYS', fileName: 'kyc-keys.json' });
