// The assurance matrix (STYLE.md rule 21; issue 15, finding 2): every `api`
// function, every `api` view and every gateway route, with who may call it, the
// assurance it needs and whether it needs a live session. A new function, view
// or route fails tests/e2e/assurance-matrix.test.ts until it is placed here; the
// test also enforces the rules below and checks the behaviour over HTTP.
//
// Rules (enforced by the test):
//   - anything customers cannot call (a staff power) needs aal2 or step_up;
//   - changing a contact, a factor or a password, and ending the caller's other
//     sessions, needs step_up (aal2, or a fresh sign-in for an account without a
//     factor, within the step-up window);
//   - anything above `none` needs a live session (checked in the database on
//     every request: PostgREST's app.check_request, the gateway's session middleware).

/** API roles, as PostgreSQL names them (`authenticated` is a customer). `anon`: no token at all. */
export type Role = 'anon' | 'authenticated' | 'compliance_officer' | 'admin';
/** none: no access token; aal1: a password (or passkey-less) session; aal2: a second factor; step_up: aal2 within the step-up window. */
export type Assurance = 'none' | 'aal1' | 'aal2' | 'step_up';
export type Kind =
  | 'sign_in'             // proves who someone is and opens a session (password, code, passkey, token from an e-mail)
  | 'public'              // no account involved (health, keys, the API description)
  | 'read'                // reads the caller's own data
  | 'self_service'        // changes the caller's own data that no factor or recovery path depends on
  | 'session_management'  // ends the caller's other sessions (a stolen session must not end the owner's)
  | 'sign_out'            // ends the caller's own current session, or forgets its remembered devices: only ever safer
  | 'contact_change'      // a contact that a factor or a recovery path uses (e-mail, phone)
  | 'contact_confirmation' // proves possession of the new contact of a change a stepped-up session asked for (bound to it)
  | 'factor_change'       // adds, replaces or removes a second factor (or its backup codes)
  | 'password_change'
  | 'recovery'            // regains an account: a token sent to its verified address, or four-eyes staff approval
  | 'staff';              // a power customers do not have

export interface Entry {
  roles: readonly Role[];
  assurance: Assurance;
  /** Takes an access token whose session must be live (signed out, revoked or expired: SESSION_ENDED). */
  live: boolean;
  kind: Kind;
  /**
   * A staff session below aal2 may use it: the "required action" of a staff account
   * without a second factor (enrol one, step up with it, list its sessions, sign out).
   */
  requiredAction?: boolean;
  /**
   * Arguments or body that get a call past input validation to the assurance checks (the test's step-up probe;
   * `$user_id` and `$email` stand for the caller's). A step_up entry without one says in `note` why it cannot be probed.
   */
  probe?: Record<string, unknown>;
  note?: string;
}

const CUSTOMER_AND_STAFF = ['authenticated', 'compliance_officer', 'admin'] as const;
const STAFF = ['compliance_officer', 'admin'] as const;
const OFFICER = ['compliance_officer'] as const;
const ADMIN = ['admin'] as const;
const ANYONE = ['anon'] as const;

const own = (kind: Kind, extra: Partial<Entry> = {}): Entry => ({ roles: CUSTOMER_AND_STAFF, assurance: 'aal1', live: true, kind, ...extra });
const stepUp = (kind: Kind, extra: Partial<Entry> = {}): Entry => ({ roles: CUSTOMER_AND_STAFF, assurance: 'step_up', live: true, kind, ...extra });
const staff = (roles: readonly Role[], extra: Partial<Entry> = {}): Entry => ({ roles, assurance: 'aal2', live: true, kind: 'staff', ...extra });
const open = (kind: Kind, extra: Partial<Entry> = {}): Entry => ({ roles: ANYONE, assurance: 'none', live: false, kind, ...extra });

/** Every function in schema `api`, by name. */
export const apiFunctions: Record<string, Entry> = {
  me: own('read'),
  my_passkeys: own('read'),
  my_sessions: own('read'),
  my_trusted_devices: own('read'),
  export_my_data: own('read'),
  get_user_latest_kyc: own('read', { note: 'staff read any user at aal2 (pre-request)' }),
  get_user_mfa_methods: own('read', { note: 'staff read any user at aal2 (pre-request)' }),
  initiate_kyc_verification: own('self_service'),
  submit_kyc_verification: own('self_service'),
  revoke_my_session: stepUp('session_management', { note: 'ending the current session itself is signing out and needs no step-up',
    probe: { session_id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b' } }),
  revoke_trusted_device: own('sign_out', { note: 'forgets remembered devices: the account only gets stricter' }),
  cancel_account_recovery: own('self_service', { note: 'the signed-in owner cancels a recovery of their own account' }),
  request_account_deletion: stepUp('self_service', { note: 'erases the account: the e-mail is confirmed and a recent sign-in required',
    probe: { confirm_email: '$email' } }),
  update_my_profile: own('self_service', { note: 'names and country; a new phone (a factor contact, finding 1) is refused here and goes through request_phone_change' }),
  request_phone_change: stepUp('contact_change', { probe: { phone: '+4915112345678' } }),
  confirm_phone_change: own('contact_confirmation', { note: 'the code sent to the new number, in the session that asked (with step-up)' }),
  disable_mfa_method: stepUp('factor_change', { note: 'own factors only; another person\'s go through four-eyes recovery (finding 14)',
    probe: { user_id: '$user_id', method: 'totp' } }),
  remove_passkey: stepUp('factor_change', { probe: { passkey_id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b' } }),
  revoke_user_sessions: stepUp('session_management', { note: '"sign out everywhere else" (finding 15); staff for any user',
    probe: { user_id: '$user_id', reason: 'test' } }),

  is_account_locked: staff([], { note: 'granted to no API role: for SQL and its tests' }),
  approve_account_recovery: staff(STAFF),
  reject_account_recovery: staff(STAFF),
  complete_account_recovery: staff(STAFF),
  export_user_data: staff(STAFF),
  audit_checkpoints: staff(STAFF),
  verify_audit_chain: staff(STAFF),
  legal_holds: staff(STAFF),
  place_legal_hold: staff(STAFF),
  release_legal_hold: staff(STAFF),
  retention_policies: staff(STAFF),
  report_daily_auth: staff(STAFF),
  report_kyc_funnel: staff(STAFF),
  report_kyc_risk: staff(STAFF),
  report_mfa_adoption: staff(STAFF),
  report_security_events: staff(STAFF),
  report_suspicious_sessions: staff(STAFF),
  complete_kyc_verification: staff(OFFICER),
  resolve_kyc_check: staff(OFFICER),
  review_kyc_document: staff(OFFICER),
  find_customer: staff(STAFF, { note: 'the back office\'s customer lookup: a reason is required and audited' }),
  customer_overview: staff(STAFF, { note: 'kinds and dates only, never a secret; a reason is required and audited' }),
  suspend_customer: staff(STAFF, { note: 'customers only, with a reason; ends every session' }),
  reinstate_customer: staff(STAFF, { note: 'with a reason' }),
  account_recoveries: staff(STAFF),
  kyc_queue: staff(OFFICER, { note: 'keyset pages of kyc_review_queue (invoker: the view\'s rights)' }),
  kyc_case: staff(OFFICER),
  maintenance_jobs: staff(ADMIN),
  maintenance_runs: staff(ADMIN),
  run_maintenance: staff(ADMIN),
};

/** Every view in schema `api`, by name. */
export const apiViews: Record<string, Entry> = {
  my_kyc_documents: own('read'),
  my_kyc_verifications: own('read'),
  kyc_checks: staff(OFFICER),
  kyc_documents: staff(OFFICER),
  kyc_review_queue: staff(OFFICER),
};

const enrol = (extra: Partial<Entry> = {}): Entry => stepUp('factor_change', { requiredAction: true, ...extra });

/** Every gateway route, `METHOD /path` as in /openapi.json (and the pages that are not in it). */
export const gatewayRoutes: Record<string, Entry> = {
  'GET /healthz': open('public'),
  'GET /.well-known/jwks.json': open('public'),
  'GET /openapi.json': open('public', { note: 'not in its own document' }),
  'GET /account': open('public', { note: 'the account security page (static; it calls the API with the user\'s token)' }),
  'GET /account/': open('public'),
  'GET /account/app.js': open('public'),
  'GET /account/style.css': open('public'),
  'GET /account/vendor/simplewebauthn-browser.js': open('public'),
  'GET /backoffice': open('public', { note: 'the compliance back office (static; it calls the API with the staff member\'s token)' }),
  'GET /backoffice/': open('public'),
  'GET /backoffice/app.js': open('public', { note: 'and the other files of gateway/public/backoffice/' }),
  'GET /backoffice/vendor/lit/index.js': open('public', { note: 'and lit\'s other ES modules, from node_modules' }),
  'GET /backoffice/vendor/chart.umd.min.js': open('public'),

  'POST /auth/signup': open('sign_in'),
  'POST /auth/login': open('sign_in'),
  'POST /auth/token/refresh': open('sign_in', { note: 'the refresh token is checked against its live session in SQL' }),
  'POST /auth/mfa/verify': open('sign_in'),
  'POST /auth/passkeys/login/options': open('sign_in'),
  'POST /auth/passkeys/login/verify': open('sign_in'),
  'POST /auth/email/verify': open('sign_in'),
  'POST /auth/email/change/confirm': open('contact_confirmation', { note: 'the token from the e-mail; its session must be alive (finding 13)' }),
  'POST /auth/password/forgot': open('sign_in'),
  'POST /auth/password/reset': open('recovery', { note: 'proof is the token sent to the verified address; it ends every session' }),
  'POST /auth/recovery': open('sign_in', { note: 'with the mfa_token of a password step; staff approve with four eyes' }),
  'POST /auth/recovery/cancel': { roles: ANYONE, assurance: 'step_up', live: false, kind: 'factor_change',
    note: 'with an mfa_token: a password alone must not cancel the owner\'s recovery (finding 16)' },

  'POST /auth/logout': own('sign_out', { requiredAction: true }),
  'GET /auth/sessions': own('read', { requiredAction: true }),
  'DELETE /auth/sessions/{id}': stepUp('session_management', { note: 'ending the current session itself is signing out and needs no step-up',
    probe: {} }),
  'POST /auth/email/resend': own('self_service'),
  'POST /auth/email/change': stepUp('contact_change', { probe: { new_email: 'nobody-else@example.com' } }),
  'POST /auth/password/change': stepUp('password_change', { probe: { current_password: 'not the password', new_password: 'a new violet lantern 42' } }),
  'POST /auth/mfa/challenge': { roles: [...ANYONE, ...CUSTOMER_AND_STAFF], assurance: 'none', live: true, kind: 'sign_in', requiredAction: true,
    note: 'an mfa_token (sign-in) or an access token (a code for step-up); a token sent must have a live session' },
  'POST /auth/mfa/step-up': own('sign_in', { requiredAction: true }),
  'POST /auth/passkeys/step-up/options': own('sign_in', { requiredAction: true }),
  'POST /auth/passkeys/step-up/verify': own('sign_in', { requiredAction: true }),
  'POST /auth/mfa/totp/enroll': enrol({ probe: {} }),
  'POST /auth/mfa/totp/confirm': enrol({ probe: { config_id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', code: '123456' } }),
  'POST /auth/mfa/otp/enroll': enrol({ probe: { method: 'email' } }),
  'POST /auth/mfa/otp/confirm': enrol({ probe: { config_id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', code: '123456' } }),
  'POST /auth/mfa/backup-codes/regenerate': stepUp('factor_change', { probe: {} }),
  'POST /auth/passkeys/register/options': enrol({ probe: {} }),
  'POST /auth/passkeys/register/verify': enrol({ note: 'not probed: the signature is checked first, and its challenge comes only from '
    + 'register/options of the same session, which needs step-up' }),
  'GET /auth/passkeys': own('read'),
  'DELETE /auth/passkeys/{id}': stepUp('factor_change', { probe: {} }),

  'POST /kyc/documents': { ...own('self_service'), assurance: 'aal2', note: 'identity documents need aal2 even for customers' },
  'GET /kyc/documents/{id}': own('read', { note: 'its owner, or a compliance officer at aal2' }),
  'GET /admin/events': staff(ADMIN),
  'POST /admin/audit/checkpoints/sign': staff(ADMIN),
};
