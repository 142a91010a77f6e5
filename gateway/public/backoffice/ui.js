// What every screen shares: light DOM (the page's one stylesheet applies, no inline styles for the CSP to refuse),
// errors shown with the API's message and hint, and dates in the officer's locale.
import { LitElement, html, nothing } from 'lit';

export class Screen extends LitElement {
  static properties = { error: { state: true }, busy: { state: true }, notice: { state: true } };

  createRenderRoot() { return this; }

  /** Runs an action: clears the last error, shows the API's error if it fails, keeps `busy` while it runs. */
  async run(action) {
    this.error = null;
    this.notice = '';
    this.busy = true;
    try {
      return await action();
    } catch (err) {
      this.error = err;
      return undefined;
    } finally {
      this.busy = false;
    }
  }
}

/** The API's message and hint, announced to screen readers. */
export const errorView = (err) => (err ? html`<div class="error" role="alert">
  <p><strong>${err.message}</strong></p>${err.hint ? html`<p class="hint">${err.hint}</p>` : nothing}</div>` : nothing);

export const noticeView = (text) => (text ? html`<p class="notice" role="status">${text}</p>` : nothing);

export const when = (t) => (t ? new Date(t).toLocaleString() : '—');

/** A form's fields as an object (FormData; empty fields left out). */
export const formValues = (form) => Object.fromEntries([...new FormData(form)].filter(([, v]) => v !== ''));
