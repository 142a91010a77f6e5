// Account recovery: requests with their waiting period; approve (two different staff members), reject, complete.
import { html, nothing } from 'lit';
import { rpc } from './api.js';
import { Screen, errorView, formValues, noticeView, when } from './ui.js';

class Recoveries extends Screen {
  static properties = { ...Screen.properties, rows: { state: true } };

  constructor() {
    super();
    this.rows = [];
  }

  connectedCallback() {
    super.connectedCallback();
    this.load();
  }

  async load() {
    const rows = await this.run(() => rpc('account_recoveries'));
    if (rows) this.rows = rows;
  }

  async act(fn, args, notice) {
    if (await this.run(() => rpc(fn, args)) === undefined) return;
    await this.load();
    this.notice = notice;
  }

  reject(e, r) {
    e.preventDefault();
    this.act('reject_account_recovery', { recovery_id: r.id, ...formValues(e.target) }, `The recovery for ${r.email} was rejected.`);
  }

  render() {
    return html`<h1>Account recovery</h1>
      <p>A customer who lost every second factor asks for a recovery; two different staff members approve it; it completes
        after the waiting period, during which the customer can still cancel it.</p>
      ${noticeView(this.notice)}${errorView(this.error)}
      <table aria-label="Account recoveries"><thead><tr><th scope="col">Customer</th><th scope="col">Status</th><th scope="col">Requested</th>
        <th scope="col">Approvals</th><th scope="col">Completes after</th><th scope="col">Actions</th></tr></thead>
      <tbody>${this.rows.map((r) => html`<tr>
        <td>${r.email}${r.reason ? html`<br><small>${r.reason}</small>` : nothing}</td>
        <td>${r.status}${r.closed_reason ? html`<br><small>${r.closed_reason}</small>` : nothing}</td>
        <td>${when(r.requested_at)}</td>
        <td>${r.first_approver ? `1. ${r.first_approver}` : 'none'}${r.second_approver ? html`<br>2. ${r.second_approver}` : nothing}
          ${r.status === 'pending' && r.first_approver ? html`<br><span class="tag">waiting for a second approval</span>` : nothing}</td>
        <td>${r.status === 'approved' ? when(r.not_before) : '—'}</td>
        <td>${r.status === 'pending' ? html`
            ${r.first_approved_by_me ? html`<p>You approved first.</p>` : html`<button type="button"
              @click=${() => this.act('approve_account_recovery', { recovery_id: r.id }, `Your approval of ${r.email}'s recovery is recorded.`)}>Approve</button>`}
            <form class="inline" @submit=${(e) => this.reject(e, r)} aria-label=${`Reject the recovery for ${r.email}`}>
              <label for=${`rr-${r.id}`}>Reason</label><input id=${`rr-${r.id}`} name="reason" maxlength="500" required>
              <button type="submit" class="danger">Reject</button></form>`
          : r.status === 'approved' && new Date(r.not_before) <= new Date() ? html`<button type="button"
              @click=${() => this.act('complete_account_recovery', { recovery_id: r.id }, 'The recovery is complete.')}>Complete now</button>` : nothing}</td>
      </tr>`)}</tbody></table>
      ${this.rows.length === 0 && !this.busy ? html`<p role="status">No account recoveries.</p>` : nothing}`;
  }
}
customElements.define('bo-recoveries', Recoveries);
