#!/usr/bin/env node
// The local mailbox of `npm start` and `npm test`: a catch-all SMTP server (smtp-server) that keeps
// every message it receives, and a small web inbox to read them. Development and tests only: it
// accepts mail for any address without authentication, so it listens on 127.0.0.1 and keeps the
// messages in memory (the last MAILBOX_KEEP, default 5,000).
//
//   MAILBOX_SMTP_PORT   SMTP (plain; the gateway's SMTP_URL points here)
//   MAILBOX_HTTP_PORT   the inbox: /  (list), /messages/<id> (one message), /messages/<id>.eml (raw),
//                       /api/messages?to=<address>&template=<name>&after=<outbox id>&outbox_id=<id> (JSON, newest first)
//   MAILBOX_REJECT      recipients refused with 550 (a regular expression; default @bounce.example.com)
import http from 'node:http';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

const host = process.env.MAILBOX_HOST ?? '127.0.0.1';
const smtpPort = Number(process.env.MAILBOX_SMTP_PORT ?? 2525);
const httpPort = Number(process.env.MAILBOX_HTTP_PORT ?? 3004);
const keep = Number(process.env.MAILBOX_KEEP ?? 5000);
// Recipients it refuses (550), as a real server refuses an unknown mailbox: how tests see a delivery fail.
const reject = new RegExp(process.env.MAILBOX_REJECT ?? '@bounce\\.example\\.com$', 'i');

/** Newest last; `id` counts from 1 in arrival order. */
const messages = [];
let nextId = 1;

const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  banner: 'DwayBank local mailbox (development only)',
  size: 5 * 1024 * 1024,
  onRcptTo(address, session, callback) {
    if (reject.test(address.address)) {
      const e = new Error('No such mailbox here');
      e.responseCode = 550;
      return callback(e);
    }
    return callback();
  },
  onData(stream, session, callback) {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', async () => {
      try {
        const raw = Buffer.concat(chunks);
        const mail = await simpleParser(raw);
        const header = (name) => {
          const v = mail.headers.get(name);
          return v === undefined ? null : String(v);
        };
        messages.push({
          id: nextId++,
          receivedAt: new Date().toISOString(),
          envelopeTo: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
          from: mail.from?.text ?? null,
          to: mail.to ? [mail.to].flat().flatMap((a) => a.value.map((v) => v.address?.toLowerCase())) : [],
          subject: mail.subject ?? '',
          messageId: mail.messageId ?? null,
          date: mail.date?.toISOString() ?? null,
          template: header('x-dwaybank-template'),
          // The gateway's Message-ID is <outbox-<outbox id>.<run>@domain>.
          outboxId: /^<outbox-(\d+)\./.exec(mail.messageId ?? '')?.[1] ?? null,
          text: mail.text ?? '',
          html: typeof mail.html === 'string' ? mail.html : '',
          raw: raw.toString('utf8'),
        });
        if (messages.length > keep) messages.splice(0, messages.length - keep);
        callback();
      } catch (e) {
        callback(e);
      }
    });
  },
});

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}pre{white-space:pre-wrap;background:#f6f6f6;padding:1rem}
iframe{width:100%;height:32rem;border:1px solid #ddd}</style></head><body>${body}</body></html>`;
const headers = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store',
  // The inbox shows mail as received: its HTML goes into a sandboxed frame that may run nothing.
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; frame-ancestors 'self'" };

const api = (url) => {
  const to = url.searchParams.get('to')?.toLowerCase();
  const template = url.searchParams.get('template');
  const after = Number(url.searchParams.get('after') ?? 0);
  const outboxId = url.searchParams.get('outbox_id');
  return messages.filter((m) => (!to || m.envelopeTo.includes(to)) && (!template || m.template === template)
    && (!after || Number(m.outboxId ?? 0) > after) && (!outboxId || m.outboxId === outboxId)).reverse().map((m) => Object.fromEntries(Object.entries(m).filter(([k]) => k !== 'raw')));
};

const web = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', `http://${host}`);
  const one = /^\/messages\/(\d+)(\.eml|\/html)?$/.exec(url.pathname);
  if (url.pathname === '/api/messages') {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    return res.end(JSON.stringify(api(url)));
  }
  if (url.pathname === '/') {
    const rows = messages.slice().reverse().map((m) => `<tr><td>${esc(m.receivedAt.slice(11, 19))}</td><td>${esc(m.envelopeTo.join(', '))}</td>
      <td><a href="/messages/${m.id}">${esc(m.subject || '(no subject)')}</a></td></tr>`).join('');
    res.writeHead(200, headers);
    return res.end(page('Mailbox', `<h1>Local mailbox</h1><p>Every message the stack sent (development only, newest first).</p>
      <table><thead><tr><th scope="col">Time</th><th scope="col">To</th><th scope="col">Subject</th></tr></thead><tbody>${rows}</tbody></table>`));
  }
  const m = one && messages.find((x) => x.id === Number(one[1]));
  if (!m) {
    res.writeHead(404, headers);
    return res.end(page('Not found', '<p>No such message. <a href="/">Back to the inbox</a></p>'));
  }
  if (one[2] === '.eml') {
    res.writeHead(200, { 'content-type': 'message/rfc822', 'cache-control': 'no-store' });
    return res.end(m.raw);
  }
  if (one[2] === '/html') {
    res.writeHead(200, { ...headers, 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'" });
    return res.end(m.html || page(m.subject, `<pre>${esc(m.text)}</pre>`));
  }
  res.writeHead(200, headers);
  return res.end(page(m.subject, `<p><a href="/">Inbox</a> · <a href="/messages/${m.id}.eml">raw</a></p>
    <h1>${esc(m.subject)}</h1><p>From ${esc(m.from)} to ${esc(m.envelopeTo.join(', '))}, ${esc(m.date)}<br>Message-ID ${esc(m.messageId)}</p>
    ${m.html ? `<iframe title="The message as HTML" sandbox="allow-popups allow-popups-to-escape-sandbox" src="/messages/${m.id}/html"></iframe>` : ''}
    <h2>Plain text</h2><pre>${esc(m.text)}</pre>`));
});

smtp.on('error', (e) => console.error(`mailbox smtp: ${e.message}`));
smtp.listen(smtpPort, host, () => {
  web.listen(httpPort, host, () => console.log(`mailbox: SMTP ${host}:${smtpPort}, inbox http://${host}:${httpPort}/`));
});
const stop = () => {
  web.close();
  smtp.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
