// The back office shell: sign-in, the navigation between screens (by the URL's #hash, so the browser's back
// button and bookmarks work), sign-out, and the idle timeout with a warning before it.
import { html, nothing } from 'lit';
import { clearSession, gw, onSessionEnded, session } from './api.js';
import { Screen } from './ui.js';
import './signin.js';
import './queue.js';
import './case.js';
import './customers.js';
import './recoveries.js';
import './events.js';
import './reports.js';

/** Signed out after this long without a key press or a click; warned this long before. */
export const IDLE_MS = 15 * 60_000;
export const WARNING_MS = 2 * 60_000;

const SCREENS = [
  { hash: 'queue', title: 'Review queue', roles: ['compliance_officer'] },
  { hash: 'customers', title: 'Customers', roles: ['compliance_officer', 'admin'] },
  { hash: 'recoveries', title: 'Account recovery', roles: ['compliance_officer', 'admin'] },
  { hash: 'events', title: 'Security events', roles: ['admin'] },
  { hash: 'reports', title: 'Reports', roles: ['compliance_officer', 'admin'] },
];

class App extends Screen {
  static properties = { ...Screen.properties, signedIn: { state: true }, route: { state: true }, secondsLeft: { state: true },
    signOutMessage: { state: true } };

  constructor() {
    super();
    this.signedIn = false;
    this.route = this.parseRoute();
    this.lastActivity = Date.now();
    this.secondsLeft = null;
    window.addEventListener('hashchange', () => { this.route = this.parseRoute(); });
    for (const type of ['keydown', 'pointerdown']) window.addEventListener(type, () => { this.lastActivity = Date.now(); }, true);
    onSessionEnded((message) => this.signOut(`Your session has ended: ${message}`, false));
  }

  parseRoute() {
    const [name = '', id = ''] = location.hash.replace(/^#\/?/, '').split('/');
    return { name, id: decodeURIComponent(id) };
  }

  screens() { return SCREENS.filter((s) => s.roles.includes(session.me?.role)); }

  signedInNow() {
    this.signedIn = true;
    this.signOutMessage = '';
    this.lastActivity = Date.now();
    this.timer = setInterval(() => this.tick(), 1000);
    if (!this.screens().some((s) => s.hash === this.route.name) && this.route.name !== 'case') location.hash = `#${this.screens()[0].hash}`;
  }

  tick() {
    const idle = Date.now() - this.lastActivity;
    if (idle >= IDLE_MS) this.signOut('You were signed out after 15 minutes without activity.');
    else if (idle >= IDLE_MS - WARNING_MS) this.secondsLeft = Math.ceil((IDLE_MS - idle) / 1000);
    else if (this.secondsLeft !== null) this.secondsLeft = null;
  }

  updated() {
    // The warning takes the focus once, so a keyboard or screen reader user hears it and can answer at once.
    if (this.secondsLeft !== null && !this.warned) {
      this.warned = true;
      this.querySelector('#stay-signed-in')?.focus();
    } else if (this.secondsLeft === null) {
      this.warned = false;
    }
  }

  async signOut(message = 'You have signed out.', callServer = true) {
    clearInterval(this.timer);
    if (callServer && session.access) await gw('/auth/logout').catch(() => undefined);
    clearSession();
    this.signedIn = false;
    this.secondsLeft = null;
    this.signOutMessage = message;
  }

  render() {
    if (!this.signedIn) {
      return html`<main id="main"><bo-signin .message=${this.signOutMessage} @signed-in=${() => this.signedInNow()}></bo-signin></main>`;
    }
    const { name, id } = this.route;
    return html`<a class="skip" href="#main" @click=${(e) => { e.preventDefault(); this.querySelector('#main')?.focus(); }}>Skip to content</a>
      <header class="top">
        <span class="brand">DwayBank back office</span>
        <nav aria-label="Screens"><ul>${this.screens().map((s) => html`<li><a href=${`#${s.hash}`}
          aria-current=${s.hash === name || (name === 'case' && s.hash === 'queue') ? 'page' : 'false'}>${s.title}</a></li>`)}</ul></nav>
        <span class="who">${session.me.email} (${session.me.role.replace('_', ' ')})</span>
        <button type="button" class="secondary" @click=${() => this.signOut()}>Sign out</button>
      </header>
      ${this.secondsLeft !== null ? html`<div class="idle-warning" role="alertdialog" aria-labelledby="idle-title" aria-describedby="idle-text">
        <h2 id="idle-title">Still there?</h2>
        <p id="idle-text">You will be signed out in ${this.secondsLeft} seconds because of inactivity.</p>
        <button type="button" id="stay-signed-in" @click=${() => { this.lastActivity = Date.now(); this.secondsLeft = null; }}>Stay signed in</button>
      </div>` : nothing}
      <main id="main" tabindex="-1">${this.screen(name, id)}</main>`;
  }

  screen(name, id) {
    switch (name) {
      case 'queue': return html`<bo-queue></bo-queue>`;
      case 'case': return html`<bo-case .kycId=${id}></bo-case>`;
      case 'customers': return html`<bo-customers .userId=${id}></bo-customers>`;
      case 'recoveries': return html`<bo-recoveries></bo-recoveries>`;
      case 'events': return html`<bo-events></bo-events>`;
      case 'reports': return html`<bo-reports></bo-reports>`;
      default: return nothing;
    }
  }
}
customElements.define('bo-app', App);
