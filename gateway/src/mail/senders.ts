// How the outbox (mfa/outbox.ts) hands a message over: e-mail through SMTP (nodemailer), SMS to an
// SMS provider's webhook, or everything to one webhook. A sender resolves once the other side has
// accepted the message and throws otherwise; the outbox then retries with backoff and, after
// outbox_max_attempts, dead-letters it (app.complete_outbox). No sender logs a message's content.
import crypto from 'node:crypto';
import fs from 'node:fs';
import nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import type { Env } from '../env.js';
import { renderEmail, renderSms } from './templates.js';

export interface OutboundMessage {
  id: string;
  channel: 'sms' | 'email';
  to: string | null;
  template: string;
  data: Record<string, unknown>;
}

export type Sender = (m: OutboundMessage) => Promise<void>;

/** POSTs the message as JSON (an SMS/e-mail provider's bridge); the outbox id is the idempotency key. */
export function webhookSender(url: string): Sender {
  return async (m) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': `outbox-${m.id}` },
      body: JSON.stringify(m),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`webhook answered ${res.status}`);
  };
}

export interface SmtpOptions {
  url: string;
  from: string;
  requireTls: boolean;
  caFile?: string | undefined;
  accountUrl: string;
}

/**
 * E-mail through an SMTP server: a real message (plain text and HTML, a subject, a Message-ID that
 * stays the same across the retries of one gateway process, links to ACCOUNT_URL). `smsOverSmtp`
 * (development only) turns an SMS into a plain mail to <number>@sms.localhost.
 */
export function smtpSender(o: SmtpOptions, { smsOverSmtp = false } = {}): Sender & { close: () => void } {
  const transport = nodemailer.createTransport({
    url: o.url,
    requireTLS: o.requireTls && !o.url.startsWith('smtps:'),
    ignoreTLS: !o.requireTls && !o.url.startsWith('smtps:'),
    tls: { minVersion: 'TLSv1.2', ...(o.caFile ? { ca: fs.readFileSync(o.caFile) } : {}) },
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
    pool: true,
    maxConnections: 2,
  } as SMTPPool.Options);
  const domain = /@([^>\s]+)>?\s*$/.exec(o.from)?.[1] ?? 'dwaybank.local';
  const run = crypto.randomBytes(6).toString('hex');
  const send = async (m: OutboundMessage) => {
    if (!m.to) throw new Error('the message has no recipient');
    const messageId = `<outbox-${m.id}.${run}@${domain}>`;
    const headers = { 'X-DwayBank-Template': m.template, 'Auto-Submitted': 'auto-generated' };
    if (m.channel === 'sms') {
      if (!smsOverSmtp) throw new Error('no SMS sender is configured');
      await transport.sendMail({ from: o.from, to: `${m.to.replace(/[^0-9]/g, '')}@sms.localhost`, subject: `SMS to ${m.to}`,
        text: renderSms(m), messageId, headers });
      return;
    }
    const r = renderEmail(m, o.accountUrl);
    await transport.sendMail({ from: o.from, to: m.to, subject: r.subject, text: r.text, html: r.html, messageId, headers });
  };
  return Object.assign(send, { close: () => transport.close() });
}

/** The sender the environment asks for (env.ts documents the settings). */
export function senderFromEnv(env: Env): Sender & { close?: () => void } {
  if (env.OUTBOX_SENDER === 'webhook') return webhookSender(env.OUTBOX_WEBHOOK_URL!);
  const sms = env.OUTBOX_SMS_WEBHOOK_URL ? webhookSender(env.OUTBOX_SMS_WEBHOOK_URL) : null;
  const mail = smtpSender({ url: env.SMTP_URL!, from: env.SMTP_FROM, requireTls: env.SMTP_REQUIRE_TLS, caFile: env.SMTP_TLS_CA_FILE,
    accountUrl: env.accountUrl }, { smsOverSmtp: !sms && env.NODE_ENV !== 'production' });
  return Object.assign((m: OutboundMessage) => (m.channel === 'sms' && sms ? sms(m) : mail(m)), { close: mail.close });
}
