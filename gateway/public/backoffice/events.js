// Security events as they happen (GET /admin/events, Server-Sent Events; admins), filterable, each with its context.
import { html, nothing } from 'lit';
import { securityEvents } from './api.js';
import { Screen, errorView, when } from './ui.js';

const KEEP = 500;

class Events extends Screen {
  static properties = { ...Screen.properties, events: { state: true }, connected: { state: true }, severity: { state: true }, text: { state: true } };

  constructor() {
    super();
    this.events = [];
    this.severity = '';
    this.text = '';
  }

  connectedCallback() {
    super.connectedCallback();
    this.close = securityEvents(({ event, data }) => {
      if (event === 'ready') this.connected = true;
      else if (event === 'security_event') this.events = [JSON.parse(data), ...this.events].slice(0, KEEP);
      else if (event === 'session_ended') this.connected = false;
    }, (err) => { this.error = err; this.connected = false; });
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    this.close?.();
  }

  render() {
    const shown = this.events.filter((e) => (!this.severity || e.severity === this.severity)
      && (!this.text || JSON.stringify(e).toLowerCase().includes(this.text.toLowerCase())));
    return html`<h1>Security events</h1>
      <p role="status">${this.connected ? 'Live: new warning and critical events appear at the top.' : 'Connecting to the event stream…'}</p>
      ${errorView(this.error)}
      <div class="filters" role="search" aria-label="Filter the events">
        <div><label for="ev-severity">Severity</label><select id="ev-severity" @change=${(e) => { this.severity = e.target.value; }}>
          <option value="">any</option><option value="critical">critical</option><option value="warning">warning</option><option value="info">info</option></select></div>
        <div class="grow"><label for="ev-text">Contains</label><input id="ev-text" @input=${(e) => { this.text = e.target.value; }} placeholder="event type, user id, address"></div>
      </div>
      <table aria-label="Security events"><thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Severity</th><th scope="col">Context</th></tr></thead>
        <tbody>${shown.map((e) => html`<tr class=${`sev-${e.severity}`}><td>${when(e.occurred_at)}</td><td>${e.event_type}</td><td>${e.severity}</td>
          <td>${e.subject_user_id ? html`user <a href=${`#customers/${e.subject_user_id}`}>${e.subject_user_id}</a><br>` : nothing}
            ${e.details ? html`<code class="details">${JSON.stringify(e.details)}</code>` : nothing}
            ${e.request_id ? html`<br><small>request ${e.request_id}</small>` : nothing}</td></tr>`)}</tbody></table>
      ${shown.length === 0 ? html`<p>No events yet.</p>` : nothing}`;
  }
}
customElements.define('bo-events', Events);
