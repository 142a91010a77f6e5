// Customers: find one by e-mail, phone or id with a reason (each lookup audited), then their sessions, remembered
// devices, kinds of second factor (never a secret), KYC history and recent security events; revoke their sessions,
// suspend or reinstate the account with a reason.
import { html, nothing } from 'lit';
import { rpc, session } from './api.js';
import { Screen, errorView, formValues, noticeView, when } from './ui.js';

class Customers extends Screen {
  static properties = { ...Screen.properties, userId: { type: String }, found: { state: true }, overview: { state: true } };

  constructor() {
    super();
    this.found = null;
    this.reason = '';
  }

  async search(e) {
    e.preventDefault();
    const { query, reason } = formValues(e.target);
    this.overview = null;
    const found = await this.run(() => rpc('find_customer', { query, reason }));
    if (found === undefined) return;
    this.reason = reason;
    this.found = found;
    if (found.length === 1) await this.open(found[0].id);
  }

  async open(id) {
    const overview = await this.run(() => rpc('customer_overview', { user_id: id, reason: this.reason }));
    if (overview) this.overview = overview;
  }

  async status(e, fn, done) {
    e.preventDefault();
    const { reason } = formValues(e.target);
    if (await this.run(() => rpc(fn, { user_id: this.overview.profile.id, reason })) === undefined) return;
    await this.open(this.overview.profile.id);
    this.notice = done;
  }

  async revokeSessions() {
    if (await this.run(() => rpc('revoke_user_sessions', { user_id: this.overview.profile.id, reason: 'revoked_by_staff' })) === undefined) return;
    await this.open(this.overview.profile.id);
    this.notice = 'Every session of this customer was ended.';
  }

  render() {
    return html`<h1>Customers</h1>
      <form class="filters" @submit=${this.search} aria-label="Find a customer">
        <div class="grow"><label for="query">E-mail, phone or account id</label><input id="query" name="query" required value=${this.userId ?? ''}></div>
        <div class="grow"><label for="lookup-reason">Reason for the lookup (goes into the audit trail)</label>
          <input id="lookup-reason" name="reason" required minlength="5" maxlength="500" placeholder="Case or ticket number"></div>
        <button type="submit" ?disabled=${this.busy}>Find</button>
      </form>
      ${noticeView(this.notice)}${errorView(this.error)}
      ${this.found && this.found.length !== 1 ? html`<p role="status">${this.found.length === 0 ? 'No account matches.' : `${this.found.length} accounts match.`}</p>
        <ul>${this.found.map((u) => html`<li><button type="button" class="link" @click=${() => this.open(u.id)}>${u.email}</button></li>`)}</ul>` : nothing}
      ${this.overview ? this.overviewView(this.overview) : nothing}`;
  }

  overviewView({ profile: p, sessions, devices, factors, kyc, events }) {
    const live = sessions.filter((s) => !s.revoked_at && new Date(s.expires_at) > new Date());
    return html`<section aria-labelledby="customer-title" class="card">
        <h2 id="customer-title">${p.first_name ?? ''} ${p.last_name ?? ''} &lt;${p.email}&gt;</h2>
        <dl>
          <dt>Account id</dt><dd><code>${p.id}</code></dd>
          <dt>Status</dt><dd><strong class=${`status-${p.status}`}>${p.status}</strong>${p.locked_until && new Date(p.locked_until) > new Date() ? ` (locked until ${when(p.locked_until)})` : ''}</dd>
          <dt>Role</dt><dd>${p.role.replace('_', ' ')}</dd>
          <dt>Phone</dt><dd>${p.phone ?? '—'}</dd>
          <dt>E-mail verified</dt><dd>${when(p.email_verified_at)}</dd>
          <dt>Signed up</dt><dd>${when(p.created_at)}</dd>
          <dt>Last sign-in</dt><dd>${when(p.last_login_at)}</dd>
          <dt>Second factors</dt><dd>${factors.length ? factors.map((f) => `${f.method} (${f.status})`).join(', ') : 'none'}</dd>
        </dl>
        ${p.role === 'customer' && p.status === 'active' ? html`<form class="inline" @submit=${(e) => this.status(e, 'suspend_customer', 'The account is suspended and its sessions have ended.')} aria-label="Suspend the account">
          <div class="grow"><label for="suspend-reason">Reason for suspending</label><input id="suspend-reason" name="reason" required minlength="5" maxlength="500"></div>
          <button type="submit" class="danger">Suspend account</button></form>` : nothing}
        ${p.status === 'suspended' ? html`<form class="inline" @submit=${(e) => this.status(e, 'reinstate_customer', 'The account is active again.')} aria-label="Reinstate the account">
          <div class="grow"><label for="reinstate-reason">Reason for reinstating</label><input id="reinstate-reason" name="reason" required minlength="5" maxlength="500"></div>
          <button type="submit">Reinstate account</button></form>` : nothing}
      </section>
      <section aria-labelledby="sessions-title"><h2 id="sessions-title">Sessions</h2>
        ${session.me.role === 'admin' && live.length ? html`<button type="button" class="danger" @click=${this.revokeSessions}>End all ${live.length} live sessions</button>` : nothing}
        <table aria-label="Sessions"><thead><tr><th scope="col">Device</th><th scope="col">Address</th><th scope="col">Assurance</th><th scope="col">Started</th><th scope="col">Last active</th><th scope="col">Ended</th></tr></thead>
        <tbody>${sessions.map((s) => html`<tr><td>${s.device_name ?? (s.user_agent ?? 'unknown').slice(0, 60)}${s.is_suspicious ? html` <span class="tag">suspicious: ${s.suspicious_reasons.join(', ')}</span>` : nothing}</td>
          <td>${s.ip ?? ''}</td><td>${s.amr.join(' + ')} (${s.aal})</td><td>${when(s.created_at)}</td><td>${when(s.last_activity_at)}</td>
          <td>${s.revoked_at ? `${when(s.revoked_at)} (${s.revoked_reason})` : '—'}</td></tr>`)}</tbody></table></section>
      <section aria-labelledby="devices-title"><h2 id="devices-title">Remembered devices</h2>
        ${devices.length ? html`<table aria-label="Remembered devices"><thead><tr><th scope="col">Device</th><th scope="col">Address</th><th scope="col">Last used</th><th scope="col">Expires</th></tr></thead>
          <tbody>${devices.map((d) => html`<tr><td>${d.device_name ?? 'unnamed'}${d.revoked_at ? ' (forgotten)' : ''}</td><td>${d.ip ?? ''}</td><td>${when(d.last_used_at)}</td><td>${when(d.expires_at)}</td></tr>`)}</tbody></table>` : html`<p>None.</p>`}</section>
      <section aria-labelledby="kyc-title"><h2 id="kyc-title">KYC history</h2>
        ${kyc.length ? html`<table aria-label="KYC history"><thead><tr><th scope="col">Level</th><th scope="col">Status</th><th scope="col">Risk</th><th scope="col">Submitted</th><th scope="col">Decided</th><th scope="col">Expires</th></tr></thead>
          <tbody>${kyc.map((k) => html`<tr><td>${session.me.role === 'compliance_officer' ? html`<a href=${`#case/${k.id}`}>${k.level}</a>` : k.level}</td><td>${k.status.replace(/_/g, ' ')}</td><td>${k.risk_level ?? '—'}</td>
            <td>${when(k.submitted_at)}</td><td>${when(k.decided_at)}</td><td>${when(k.expires_at)}</td></tr>`)}</tbody></table>` : html`<p>No verification yet.</p>`}</section>
      <section aria-labelledby="events-title"><h2 id="events-title">Recent security events</h2>
        <table aria-label="Recent security events"><thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Severity</th><th scope="col">Address</th></tr></thead>
        <tbody>${events.map((ev) => html`<tr><td>${when(ev.occurred_at)}</td><td>${ev.event_type}</td><td>${ev.severity}</td><td>${ev.ip ?? ''}</td></tr>`)}</tbody></table></section>`;
  }
}
customElements.define('bo-customers', Customers);
