// The review queue: highest risk first, then longest waiting; filters; keyset pages (api.kyc_queue), so the
// thousandth page costs what the first does.
import { html, nothing } from 'lit';
import { rpc } from './api.js';
import { Screen, errorView, formValues, when } from './ui.js';

const PAGE = 25;
const options = (values) => html`${values.map((v) => html`<option value=${v}>${v.replace(/_/g, ' ')}</option>`)}`;

class Queue extends Screen {
  static properties = { ...Screen.properties, rows: { state: true }, pages: { state: true } };

  constructor() {
    super();
    this.rows = [];
    this.filters = {};
    this.pages = [null];  // the cursor of each page seen so far (null: the first)
  }

  connectedCallback() {
    super.connectedCallback();
    this.load();
  }

  async load(cursor = this.pages.at(-1)) {
    await this.run(async () => {
      this.rows = await rpc('kyc_queue', { ...this.filters, ...(cursor ?? {}), page_size: PAGE });
    });
  }

  filter(e) {
    e.preventDefault();
    const f = formValues(e.target);
    this.filters = { ...f, awaiting_second_approval: f.awaiting_second_approval ? true : undefined };
    this.pages = [null];
    this.load();
  }

  next() {
    const last = this.rows.at(-1);
    this.pages = [...this.pages, { after_risk_score: last.risk_score, after_waiting_since: last.waiting_since, after_id: last.id }];
    this.load();
  }

  previous() {
    this.pages = this.pages.slice(0, -1);
    this.load();
  }

  render() {
    return html`<h1>Review queue</h1>
      <form class="filters" @submit=${this.filter} aria-label="Filter the queue">
        <div><label for="f-status">Status</label><select id="f-status" name="status"><option value="">any</option>${options(['pending', 'in_review', 'approved'])}</select></div>
        <div><label for="f-risk">Risk</label><select id="f-risk" name="risk_level"><option value="">any</option>${options(['critical', 'high', 'medium', 'low'])}</select></div>
        <div><label for="f-level">Level</label><select id="f-level" name="level"><option value="">any</option>${options(['basic', 'standard', 'enhanced'])}</select></div>
        <div><label for="f-country">Country</label><input id="f-country" name="country" maxlength="2" size="3" pattern="[A-Za-z]{2}" placeholder="DE"></div>
        <div class="check"><input id="f-second" name="awaiting_second_approval" type="checkbox" value="1"><label for="f-second">Waiting for a second approval</label></div>
        <button type="submit">Filter</button>
      </form>
      ${errorView(this.error)}
      <table aria-label="Cases waiting for review" aria-busy=${this.busy ? 'true' : 'false'}>
        <thead><tr><th scope="col">Customer</th><th scope="col">Risk</th><th scope="col">Level</th><th scope="col">Status</th>
          <th scope="col">Country</th><th scope="col">Open matches</th><th scope="col">Documents</th><th scope="col">Waiting since</th></tr></thead>
        <tbody>${this.rows.map((r) => html`<tr>
          <td><a href=${`#case/${r.id}`}>${r.legal_first_name} ${r.legal_last_name}</a></td>
          <td><span class=${`risk risk-${r.risk_level}`}>${r.risk_level ?? 'not scored'}</span> ${r.risk_score ?? ''}</td>
          <td>${r.level}</td>
          <td>${r.status.replace('_', ' ')}${r.awaiting_second_approval ? html`<br><span class="tag">waiting for a second officer</span>` : nothing}</td>
          <td>${r.nationality}${r.residence_country !== r.nationality ? ` / ${r.residence_country}` : ''}</td>
          <td>${r.open_checks}</td><td>${r.documents}</td><td>${when(r.waiting_since)}</td></tr>`)}
        </tbody>
      </table>
      ${this.rows.length === 0 && !this.busy ? html`<p role="status">No case matches these filters.</p>` : nothing}
      <div class="pager">
        <button type="button" class="secondary" ?disabled=${this.pages.length < 2} @click=${this.previous}>Previous page</button>
        <span>Page ${this.pages.length}</span>
        <button type="button" class="secondary" ?disabled=${this.rows.length < PAGE} @click=${this.next}>Next page</button>
      </div>`;
  }
}
customElements.define('bo-queue', Queue);
