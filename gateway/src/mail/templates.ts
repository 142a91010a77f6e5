// What each outbox template says: the subject, the plain text and the HTML of an e-mail, or the text
// of an SMS. Links open the account page (ACCOUNT_URL) with the token in the fragment
// (#verify-email=...), which browsers never send to a server, so no access log or proxy sees it;
// the page posts it to the gateway. A template not listed here gets a neutral notice: the data of
// a message is never printed as it is (it may carry a code), and no text a user typed goes into one (a label
// chosen by whoever holds a stolen session could rewrite the warning meant for the owner).
import type { OutboundMessage } from './senders.js';

export interface Rendered {
  subject: string;
  text: string;
  html: string;
}

interface Content {
  subject: string;
  lines: string[];
  action?: { label: string; fragment: string };
}

const str = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
/** An instant as "2026-12-01 10:00 UTC" (an unambiguous form every mail client shows as written). */
const when = (v: unknown): string => {
  const d = new Date(str(v));
  return Number.isNaN(d.getTime()) ? '' : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
};
const notYou = 'If this was not you, sign in and change your password, or contact us.';
const factors: Record<string, string> = { totp: 'An authenticator app', sms: 'Text message (SMS) codes', email: 'E-mail codes',
  webauthn: 'A passkey', backup_codes: 'A set of backup codes' };
const factor = (m: unknown) => factors[str(m)] ?? 'A second factor';

const emails: Record<string, (d: Record<string, unknown>) => Content> = {
  email_verification: (d) => ({
    subject: 'Confirm your e-mail address',
    lines: ['Welcome to DwayBank. Confirm that this address is yours to finish setting up your account.',
      `The link works once, until ${when(d.expires_at)}.`],
    action: { label: 'Confirm my e-mail address', fragment: `verify-email=${str(d.token)}` },
  }),
  email_change_confirm: (d) => ({
    subject: 'Confirm your new e-mail address',
    lines: ['You asked to use this address for your DwayBank account.', `The link works once, until ${when(d.expires_at)}.`],
    action: { label: 'Use this e-mail address', fragment: `confirm-email-change=${str(d.token)}` },
  }),
  email_change_requested: () => ({
    subject: 'Your e-mail address is about to change',
    lines: ['Someone signed in to your DwayBank account asked to move it to another e-mail address.', notYou],
  }),
  email_changed: () => ({
    subject: 'Your e-mail address was changed',
    lines: ['The e-mail address of your DwayBank account was changed; messages now go to the new address.', notYou],
  }),
  password_reset: (d) => ({
    subject: 'Reset your password',
    lines: ['You asked to reset your DwayBank password.', `The link works once, until ${when(d.expires_at)}. If you did not ask, ignore this message.`],
    action: { label: 'Choose a new password', fragment: `reset-password=${str(d.token)}` },
  }),
  password_changed: (d) => ({
    subject: 'Your password was changed',
    lines: [`Your DwayBank password was ${d.reason === 'reset' ? 'reset' : 'changed'} at ${when(d.at)}; every other session was signed out.`, notYou],
  }),
  mfa_enrolled: (d) => ({
    subject: 'A second factor was added',
    lines: [`${factor(d.method)} was added to your DwayBank account as a second factor at ${when(d.at)}.`, notYou],
  }),
  mfa_disabled: (d) => ({
    subject: 'A second factor was removed',
    lines: [`${factor(d.method)} was removed from your DwayBank account at ${when(d.at)}.`,
      ...(d.last_factor === true ? ['It was your last second factor: your account is now protected by your password alone. Set up a new one soon.'] : []),
      notYou],
  }),
  // Never the passkey's label: whoever registered it chose it, and this is the message that warns the owner.
  passkey_added: (d) => ({
    subject: 'A passkey was added',
    lines: [`A passkey was registered for your DwayBank account at ${when(d.at)}.`, notYou],
  }),
  mfa_code: (d) => ({
    subject: 'Your DwayBank code',
    lines: [`Your code is ${str(d.code)}. It expires at ${when(d.expires_at)}.`, 'DwayBank never asks you for this code by phone or e-mail.'],
  }),
  phone_change_requested: () => ({
    subject: 'Your phone number is about to change',
    lines: ['Someone signed in to your DwayBank account asked to change its phone number; a code was sent to the new number.', notYou],
  }),
  phone_changed: (d) => ({
    subject: 'Your phone number was changed',
    lines: [`The phone number of your DwayBank account is now ${str(d.new_phone)}.`, notYou],
  }),
  account_recovery_requested: (d) => recovery(d, 'Account recovery requested',
    ['Someone who knows your password asked to recover your DwayBank account without its second factor. Two of our staff must approve it, and it then waits before it completes.']),
  account_recovery_approved: (d) => recovery(d, 'Account recovery approved',
    [`Your account recovery was approved. It can complete from ${when(d.not_before)}; until then you can still cancel it.`]),
  account_recovery_completed: () => ({
    subject: 'Account recovery completed',
    lines: ['Your account recovery completed: your second factors were removed. Sign in and set up a new one.', notYou],
  }),
  account_recovery_cancelled: () => ({ subject: 'Account recovery cancelled', lines: ['The recovery of your DwayBank account was cancelled.'] }),
  account_recovery_rejected: () => ({ subject: 'Account recovery rejected', lines: ['The recovery of your DwayBank account was rejected. Contact us if you still need help.'] }),
  'kyc.expired': () => ({
    subject: 'Your identity verification expired',
    lines: ['Your identity verification has expired. Sign in to verify your identity again.'],
  }),
  'kyc.renewal_due': (d) => ({
    subject: 'Time to renew your identity verification',
    lines: [`Your identity verification expires at ${when(d.expires_at)}. Sign in to renew it before then.`],
  }),
};

function recovery(d: Record<string, unknown>, subject: string, lines: string[]): Content {
  const cancel = str(d.cancel_token);
  return {
    subject,
    lines: [...lines, cancel ? 'If this was not you, cancel it now: the link below works once.' : notYou],
    ...(cancel ? { action: { label: 'Cancel this recovery', fragment: `cancel-recovery=${cancel}` } } : {}),
  };
}

const sms: Record<string, (d: Record<string, unknown>) => string> = {
  mfa_code: (d) => `DwayBank code: ${str(d.code)}. Valid until ${when(d.expires_at)}. Never share it.`,
  phone_change_code: (d) => `DwayBank: ${str(d.token)} is your code to confirm this number for your account. Never share it.`,
  phone_changed: (d) => `DwayBank: your account's phone number was changed to ${str(d.new_phone)}. If this was not you, contact us.`,
};

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** An e-mail for an outbox message; `accountUrl` is where its link points. */
export function renderEmail(m: Pick<OutboundMessage, 'template' | 'data'>, accountUrl: string): Rendered {
  const c = emails[m.template]?.(m.data) ?? { subject: 'A message about your DwayBank account', lines: ['Sign in to your DwayBank account to see what changed.'] };
  const link = c.action ? `${accountUrl}#${c.action.fragment}` : null;
  const text = [...c.lines, ...(link ? ['', `${c.action!.label}: ${link}`] : []), '', '-- ', 'DwayBank'].join('\n');
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(c.subject)}</title></head>
<body style="font-family:system-ui,sans-serif;line-height:1.5;color:#1a1a1a;max-width:36rem">
${c.lines.map((l) => `<p>${escape(l)}</p>`).join('\n')}
${link ? `<p><a href="${escape(link)}" style="display:inline-block;padding:.6em 1.2em;background:#0b5394;color:#fff;text-decoration:none;border-radius:4px">${escape(c.action!.label)}</a></p>
<p style="font-size:.9em;color:#555">Or open this address: ${escape(link)}</p>` : ''}
<p style="font-size:.9em;color:#555">DwayBank</p>
</body></html>`;
  return { subject: c.subject, text, html };
}

/** The text of an SMS for an outbox message. */
export function renderSms(m: Pick<OutboundMessage, 'template' | 'data'>): string {
  return sms[m.template]?.(m.data) ?? 'DwayBank: there is news about your account. Sign in to see it.';
}
