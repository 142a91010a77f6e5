import { dictionary } from '@zxcvbn-ts/language-common';
import { errors } from '../errors.js';

const normalise = (s: string) => s.normalize('NFKC').toLowerCase();
const common = new Set(dictionary.passwords.map(normalise));

/**
 * NIST SP 800-63B 5.1.1.2: refuse passwords from lists of commonly used ones.
 * Length rules live in SQL (app.assert_password_policy).
 */
export function assertNotCommon(password: string): void {
  if (common.has(normalise(password))) {
    throw errors.weakPassword();
  }
}
