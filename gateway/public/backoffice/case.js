// One KYC case (api.kyc_case): the submitted data, the risk score and its reasons, the documents shown in the page
// (through the gateway's verified, no-store download), the document review, screening matches beside their
// watchlist entries and their resolution, the decision with four eyes, and the case's audit history.
import { html, nothing } from 'lit';
import { documentUrl, rpc } from './api.js';
import { Screen, errorView, formValues, noticeView, when } from './ui.js';

class Case extends Screen {
  static properties = { ...Screen.properties, kycId: { type: String }, data: { state: true }, files: { state: true } };

  constructor() {
    super();
    this.files = {};
  }

  willUpdate(changed) {
    if (changed.has('kycId') && this.kycId) this.load();
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    for (const url of Object.values(this.files)) URL.revokeObjectURL(url);
  }

  async load() {
    const data = await this.run(() => rpc('kyc_case', { kyc_id: this.kycId }));
    if (data) this.data = data;
  }

  async show(doc) {
    const url = await this.run(() => documentUrl(doc.id));
    if (url) this.files = { ...this.files, [doc.id]: url };
  }

  async act(e, fn, args, notice) {
    e.preventDefault();
    const done = await this.run(() => rpc(fn, { ...args, ...formValues(e.target) }));
    if (done === undefined) return;
    await this.load();
    this.notice = typeof notice === 'function' ? notice(done) : notice;
  }

  render() {
    if (!this.data) return html`<h1>Case</h1>${errorView(this.error)}`;
    const { record: r, customer, first_approval: first } = this.data;
    return html`<p><a href="#queue">Back to the queue</a></p>
      <h1>Case: ${r.legal_first_name} ${r.legal_last_name}</h1>
      ${noticeView(this.notice)}${errorView(this.error)}
      <div class="grid">
        <section aria-labelledby="data-title" class="card">
          <h2 id="data-title">Submitted data</h2>
          <dl>
            <dt>Customer</dt><dd><a href=${`#customers/${customer.id}`}>${customer.email}</a> (${customer.status})</dd>
            <dt>Legal name</dt><dd>${r.legal_first_name} ${r.legal_last_name}</dd>
            <dt>Date of birth</dt><dd>${r.date_of_birth}</dd>
            <dt>Nationality</dt><dd>${r.nationality}</dd>
            <dt>Address</dt><dd>${r.address_line1}${r.address_line2 ? `, ${r.address_line2}` : ''}, ${r.postal_code} ${r.city}, ${r.residence_country}</dd>
            <dt>Identity document</dt><dd>${r.id_document_type.replace('_', ' ')} ${r.id_document_number}</dd>
            <dt>Level</dt><dd>${r.level}</dd>
            <dt>Status</dt><dd>${r.status.replace('_', ' ')}</dd>
            <dt>Submitted</dt><dd>${when(r.submitted_at)}</dd>
          </dl>
        </section>
        <section aria-labelledby="risk-title" class="card">
          <h2 id="risk-title">Risk: <span class=${`risk risk-${r.risk_level}`}>${r.risk_level ?? 'not scored'}</span> (${r.risk_score ?? '—'} of 100)</h2>
          <table aria-label="Reasons for the risk score"><thead><tr><th scope="col">Reason</th><th scope="col">Points</th></tr></thead>
            <tbody>${(r.risk_factors ?? []).map((f) => html`<tr><td>${String(f.factor).replace(/_/g, ' ')}${f.detail ? ` (${f.detail})` : ''}</td><td>${f.points}</td></tr>`)}</tbody></table>
        </section>
      </div>
      ${this.documentsView()}
      ${this.checksView()}
      ${this.decisionView(r, first)}
      ${this.historyView()}`;
  }

  documentsView() {
    return html`<section aria-labelledby="docs-title"><h2 id="docs-title">Documents</h2>
      ${this.data.documents.length === 0 ? html`<p>No documents were uploaded.</p>` : nothing}
      ${this.data.documents.map((d) => html`<article class="card doc" aria-label=${`Document: ${d.document_type.replace(/_/g, ' ')}`}>
        <h3>${d.document_type.replace(/_/g, ' ')} ${d.document_number ?? ''}</h3>
        <p>${d.issuing_country ?? ''} ${d.expires_on ? `valid until ${d.expires_on}` : ''} · ${d.mime_type} · ${Math.ceil(d.size_bytes / 1024)} KiB ·
          status <strong>${d.status}</strong>${d.quality_score !== null ? ` (quality ${d.quality_score})` : ''}</p>
        ${this.files[d.id] ? (d.mime_type === 'application/pdf'
          ? html`<iframe class="file" src=${this.files[d.id]} title=${`${d.document_type} (PDF)`}></iframe>`
          : html`<img class="file" src=${this.files[d.id]} alt=${`Uploaded ${d.document_type.replace(/_/g, ' ')}`}>`)
          : html`<button type="button" class="secondary" @click=${() => this.show(d)}>Show ${d.document_type.replace(/_/g, ' ')}</button>`}
        ${this.data.own_case ? nothing : html`<form class="inline" @submit=${(e) => this.act(e, 'review_kyc_document', { document_id: d.id }, 'The document review was saved.')}
          aria-label=${`Review the ${d.document_type.replace(/_/g, ' ')}`}>
          <div><label for=${`st-${d.id}`}>Assessment</label><select id=${`st-${d.id}`} name="status"><option value="accepted">accept</option><option value="rejected">reject</option></select></div>
          <div><label for=${`q-${d.id}`}>Quality (0-100)</label><input id=${`q-${d.id}`} name="quality_score" type="number" min="0" max="100" required value=${d.quality_score ?? ''}></div>
          <div><label for=${`n-${d.id}`}>Notes</label><input id=${`n-${d.id}`} name="notes" maxlength="1000" value=${d.quality_notes ?? ''}></div>
          <button type="submit" class="secondary">Save review</button></form>`}
      </article>`)}</section>`;
  }

  checksView() {
    const r = this.data.record;
    return html`<section aria-labelledby="checks-title"><h2 id="checks-title">Screening</h2>
      ${this.data.checks.map((c) => html`<article class="card" aria-label=${`${c.check_type} screening`}>
        <h3>${c.check_type === 'pep' ? 'Politically exposed persons' : 'Sanctions'}: ${c.status.replace(/_/g, ' ')}</h3>
        <p>Screened against ${c.list_version ?? 'no list'}${c.resolved_at ? html`; resolved by ${c.resolved_by} on ${when(c.resolved_at)}: “${c.resolution_note}”` : nothing}</p>
        ${c.matches.length ? html`<table aria-label=${`${c.check_type} matches beside the customer`}>
          <thead><tr><th scope="col"></th><th scope="col">Name</th><th scope="col">Date of birth</th><th scope="col">Countries</th><th scope="col">List</th><th scope="col">Score</th></tr></thead>
          <tbody><tr class="customer-row"><th scope="row">Customer</th><td>${r.legal_first_name} ${r.legal_last_name}</td><td>${r.date_of_birth}</td>
            <td>${r.nationality} / ${r.residence_country}</td><td>—</td><td>—</td></tr>
          ${c.matches.map((m) => html`<tr><th scope="row">Watchlist entry ${m.external_id}</th><td>${m.listed_name}${m.aliases?.length ? html`<br><small>also ${m.aliases.join('; ')}</small>` : nothing}</td>
            <td>${m.birth_date ?? 'unknown'}${m.dob_match ? ' (matches)' : m.dob_mismatch ? ' (differs)' : ''}</td>
            <td>${(m.countries ?? []).join(', ').toUpperCase()}${m.country_match ? ' (matches)' : ''}</td>
            <td>${m.list}${m.program ? html`<br><small>${m.program}</small>` : nothing}</td><td>${m.score}</td></tr>`)}</tbody></table>` : html`<p>No candidate matches.</p>`}
        ${c.status === 'potential_match' && !this.data.own_case ? html`<form class="inline" @submit=${(e) => this.act(e, 'resolve_kyc_check', { check_id: c.id }, 'The match was resolved.')}
          aria-label=${`Resolve the ${c.check_type} match`}>
          <div><label for=${`res-${c.id}`}>Resolution</label><select id=${`res-${c.id}`} name="resolution">
            <option value="false_positive">false positive</option><option value="confirmed_match">true match</option></select></div>
          <div class="grow"><label for=${`note-${c.id}`}>Note</label><input id=${`note-${c.id}`} name="note" required minlength="3" maxlength="1000"></div>
          <button type="submit">Resolve match</button></form>` : nothing}
      </article>`)}</section>`;
  }

  decisionView(r, first) {
    const decided = !['pending', 'in_review'].includes(r.status);
    return html`<section aria-labelledby="decision-title" class="card"><h2 id="decision-title">Decision</h2>
      ${first && !decided ? html`<p class="four-eyes" role="status">${first.by_me ? 'You gave the first approval' : `First approval by ${first.by}`} on ${when(first.at)}:
        waiting for a second officer.${first.by_me ? ' Another compliance officer must give the second approval.' : ''}</p>` : nothing}
      ${first && decided ? html`<p>Four eyes: first approval by ${first.by_me ? 'you' : first.by} on ${when(first.at)}.</p>` : nothing}
      ${decided ? html`<p>Decided: <strong>${r.status.replace(/_/g, ' ')}</strong> on ${when(r.decided_at)} by ${this.data.reviewer ?? 'the system'}${r.decision_reason ? `: “${r.decision_reason}”` : ''}.</p>` : nothing}
      ${this.data.own_case ? html`<p>This is your own verification: another officer must decide it.</p>` : nothing}
      ${decided || this.data.own_case ? nothing : html`<form @submit=${(e) => this.decide(e)}>
        <label for="reason">Reason (needed to reject or to ask for resubmission)</label>
        <textarea id="reason" name="reason" maxlength="1000" rows="2"></textarea>
        <div class="actions">
          ${first?.by_me ? nothing : html`<button type="submit" name="decision" value="approved">${first ? 'Give the second approval' : 'Approve'}</button>`}
          <button type="submit" name="decision" value="requires_resubmission" class="secondary">Ask for resubmission</button>
          <button type="submit" name="decision" value="rejected" class="danger">Reject</button>
        </div></form>`}
    </section>`;
  }

  async decide(e) {
    e.preventDefault();
    const decision = e.submitter.value;
    const reason = new FormData(e.target).get('reason') || undefined;
    const done = await this.run(() => rpc('complete_kyc_verification', { kyc_id: this.kycId, decision, reason }));
    if (done === undefined) return;
    await this.load();
    this.notice = done.status === 'pending_second_approval' ? 'Your approval is recorded: the case now waits for a second officer.'
      : `The verification is ${done.kyc_status.replace(/_/g, ' ')}.`;
  }

  historyView() {
    return html`<section aria-labelledby="history-title"><h2 id="history-title">History</h2>
      <table aria-label="The case's audit history"><thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Who</th></tr></thead>
      <tbody>${this.data.history.map((h) => html`<tr><td>${when(h.occurred_at)}</td>
        <td>${h.event_type}${h.operation === 'UPDATE' && h.changed_columns?.length ? html` <small>(${h.changed_columns.join(', ')})</small>` : nothing}</td>
        <td>${h.actor ?? h.actor_role ?? 'system'}</td></tr>`)}</tbody></table></section>`;
  }
}
customElements.define('bo-case', Case);
