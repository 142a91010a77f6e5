/* global Chart */
// Reports: each reporting function drawn as a chart (Chart.js, served from node_modules) with its numbers in a
// table beside it, so the figures are readable without the picture.
import { html } from 'lit';
import { rpc } from './api.js';
import { Screen, errorView } from './ui.js';

const sum = (rows, key, value) => {
  const m = new Map();
  for (const r of rows) m.set(r[key] ?? 'none', (m.get(r[key] ?? 'none') ?? 0) + Number(r[value]));
  return [...m];
};

/** Each report: where its numbers come from, and how they become a chart and a table. */
const REPORTS = [
  { id: 'kyc-funnel', title: 'KYC funnel', fn: 'report_kyc_funnel', type: 'bar',
    shape: (rows) => {
      const by = sum(rows, 'status', 'verifications');
      return { labels: by.map(([k]) => k.replace(/_/g, ' ')), series: [{ label: 'Verifications', data: by.map(([, v]) => v) }] };
    } },
  { id: 'kyc-risk', title: 'Risk distribution', fn: 'report_kyc_risk', type: 'bar',
    shape: (rows) => {
      const by = sum(rows, 'risk_level', 'verifications');
      return { labels: by.map(([k]) => k), series: [{ label: 'Verifications', data: by.map(([, v]) => v) }] };
    } },
  { id: 'sign-ins', title: 'Sign-in outcomes and lockouts', fn: 'report_daily_auth', type: 'line',
    shape: (rows) => ({ labels: rows.map((r) => r.day), series: [
      { label: 'Sign-ins', data: rows.map((r) => Number(r.sign_ins)) },
      { label: 'Failures', data: rows.map((r) => Number(r.failures)) },
      { label: 'Lockouts', data: rows.map((r) => Number(r.lockouts)) }] }) },
  { id: 'mfa', title: 'MFA adoption', fn: 'report_mfa_adoption', type: 'bar',
    shape: (rows) => ({ labels: rows.map((r) => r.method), series: [{ label: 'Users (%)', data: rows.map((r) => Number(r.percent_of_users)) }] }) },
];
const COLOURS = ['#1d4ed8', '#b91c1c', '#a16207'];

class Reports extends Screen {
  static properties = { ...Screen.properties, data: { state: true } };

  constructor() {
    super();
    this.data = null;
    this.charts = [];
  }

  async connectedCallback() {
    super.connectedCallback();
    const data = await this.run(() => Promise.all(REPORTS.map(async (r) => ({ ...r, ...r.shape(await rpc(r.fn)) }))));
    if (data) this.data = data;
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    for (const c of this.charts) c.destroy();
  }

  updated() {
    if (!this.data || this.charts.length) return;
    this.charts = this.data.map((r) => new Chart(this.querySelector(`#chart-${r.id}`), {
      type: r.type,
      data: { labels: r.labels, datasets: r.series.map((s, i) => ({ ...s, backgroundColor: COLOURS[i], borderColor: COLOURS[i] })) },
      options: { animation: false, responsive: true, maintainAspectRatio: false, plugins: { legend: { display: r.series.length > 1 } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    }));
  }

  render() {
    return html`<h1>Reports</h1>${errorView(this.error)}
      ${(this.data ?? []).map((r) => html`<section class="report card" aria-labelledby=${`t-${r.id}`}>
        <h2 id=${`t-${r.id}`}>${r.title}</h2>
        <div class="chart"><canvas id=${`chart-${r.id}`} role="img" aria-label=${`${r.title}: chart of the numbers in the table beside it`}></canvas></div>
        <table aria-label=${`${r.title}: the numbers`}><thead><tr><th scope="col"></th>${r.series.map((s) => html`<th scope="col">${s.label}</th>`)}</tr></thead>
          <tbody>${r.labels.map((l, i) => html`<tr><th scope="row">${l}</th>${r.series.map((s) => html`<td>${s.data[i]}</td>`)}</tr>`)}</tbody></table>
        ${r.labels.length === 0 ? html`<p>No data yet.</p>` : ''}
      </section>`)}`;
  }
}
customElements.define('bo-reports', Reports);
