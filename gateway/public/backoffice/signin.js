// Sign-in for staff, always with a second factor: password, then the authenticator app's code. A staff account
// without a factor is taken to enrolment (the only thing its first session may do), then steps up with a fresh code.
import { html, nothing } from 'lit';
import { clearSession, gw, rpc, session, setTokens } from './api.js';
import { Screen, errorView, formValues } from './ui.js';

class SignIn extends Screen {
  static properties = { ...Screen.properties, step: { state: true }, enrolment: { state: true }, backupCodes: { state: true },
    message: { type: String } };

  constructor() {
    super();
    this.step = 'password';
    this.mfaToken = null;
  }

  updated(changed) {
    // Each step's first field takes the focus, so the keyboard and screen readers land where the next answer goes.
    if (changed.has('step') && changed.get('step') !== undefined) this.querySelector('input')?.focus();
  }

  async password(e) {
    e.preventDefault();
    const { email, password } = formValues(e.target);
    await this.run(async () => {
      const r = await gw('/auth/login', { body: { email, password }, auth: false });
      if (r.mfa_required) {
        if (!r.methods?.includes('totp')) throw Object.assign(new Error('This account has no authenticator app.'),
          { hint: 'Staff sign in with an authenticator app; ask an admin to start an account recovery.' });
        this.mfaToken = r.mfa_token;
        this.step = 'code';
      } else {
        setTokens(r);
        if (r.required_actions?.includes('enroll_mfa')) await this.startEnrolment();
        else await this.finish();
      }
    });
  }

  async code(e) {
    e.preventDefault();
    const { code } = formValues(e.target);
    await this.run(async () => {
      setTokens(await gw('/auth/mfa/verify', { body: { mfa_token: this.mfaToken, method: 'totp', code }, auth: false }));
      await this.finish();
    });
  }

  async startEnrolment() {
    this.enrolment = await gw('/auth/mfa/totp/enroll', { body: { label: 'Back office' } });
    this.step = 'enrol';
  }

  async confirm(e) {
    e.preventDefault();
    const { code } = formValues(e.target);
    await this.run(async () => {
      const r = await gw('/auth/mfa/totp/confirm', { body: { config_id: this.enrolment.config_id, code } });
      this.backupCodes = r.backup_codes;
      this.enrolment = null;
      this.step = 'step-up';
    });
  }

  async stepUp(e) {
    e.preventDefault();
    const { code } = formValues(e.target);
    await this.run(async () => {
      setTokens(await gw('/auth/mfa/step-up', { body: { method: 'totp', code } }));
      await this.finish();
    });
  }

  async finish() {
    const me = await rpc('me');
    if (!['compliance_officer', 'admin'].includes(me.role)) {
      await gw('/auth/logout').catch(() => undefined);
      clearSession();
      this.step = 'password';
      throw Object.assign(new Error('The back office is for staff only.'), { hint: 'Customers manage their account at /account/.' });
    }
    session.me = me;
    this.step = 'password';
    this.backupCodes = null;
    this.dispatchEvent(new CustomEvent('signed-in', { bubbles: true }));
  }

  render() {
    return html`<section class="card narrow" aria-labelledby="signin-title">
      <h1 id="signin-title">${this.step.startsWith('enrol') ? 'Set up your authenticator app' : 'Sign in to the back office'}</h1>
      ${this.message ? html`<p class="notice" role="status">${this.message}</p>` : nothing}
      ${errorView(this.error)}
      ${this[`${this.step.replace('-', '_')}View`]()}
    </section>`;
  }

  passwordView() {
    return html`<form @submit=${this.password}>
      <label for="email">E-mail</label><input id="email" name="email" type="email" autocomplete="username" required>
      <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
      <button type="submit" ?disabled=${this.busy}>Sign in</button></form>`;
  }

  codeView() {
    return html`<form @submit=${this.code}>
      <label for="code">Code from your authenticator app</label>
      <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required>
      <button type="submit" ?disabled=${this.busy}>Verify</button></form>`;
  }

  enrolView() {
    const e = this.enrolment;
    return html`<p>Staff always sign in with a second factor. Scan this code with your authenticator app, then enter the code it shows.</p>
      <img class="qr" alt="QR code for your authenticator app" src=${`data:image/svg+xml;base64,${btoa(e.qr_svg)}`}>
      <p>Or enter this key: <code id="totp-secret">${e.secret}</code></p>
      <form @submit=${this.confirm}>
        <label for="enrol-code">Code</label>
        <input id="enrol-code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required>
        <button type="submit" ?disabled=${this.busy}>Confirm</button></form>`;
  }

  step_upView() {
    return html`${this.backupCodes ? html`<p>Your authenticator app is set up. Keep these backup codes somewhere safe; each works once:</p>
        <ul class="codes" aria-label="Backup codes">${this.backupCodes.map((c) => html`<li><code>${c}</code></li>`)}</ul>` : nothing}
      <form @submit=${this.stepUp}>
        <label for="stepup-code">Next code from your authenticator app</label>
        <input id="stepup-code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required>
        <button type="submit" ?disabled=${this.busy}>Continue</button></form>`;
  }
}
customElements.define('bo-signin', SignIn);
