#!/usr/bin/env zx
// Grants a staff role to an account: npm run user:role -- <email> <role>
// Roles: customer, compliance_officer, admin. The change is audited, and the
// user's sessions are revoked so the new role applies from the next sign-in.
// Staff powers need a second factor: a staff account without one is told to enrol it.
import { argv, chalk } from 'zx';
import pg from 'pg';
import { stackConfig, urls, startPostgres } from './lib/stack.mjs';
import { ensurePrereqs } from './lib/prereqs.mjs';
import { describeDbError } from './lib/database.mjs';

const [email, role] = argv._.map(String);
const roles = ['customer', 'compliance_officer', 'admin'];
if (!email || !roles.includes(role)) {
  console.error(`Usage: npm run user:role -- <email> <${roles.join('|')}>`);
  process.exit(2);
}
const cfg = stackConfig(process.env.STACK_PROFILE ?? 'dev');
const { bin } = await ensurePrereqs({});
await startPostgres(cfg, bin);
const client = new pg.Client({ connectionString: urls(cfg).superuser });
await client.connect();
try {
  const { rows } = await client.query(`select r.user_id, exists (select from app.mfa_configs c where c.user_id = r.user_id
      and c.status = 'active' and c.method <> 'backup_codes') as has_factor
    from (select app.set_user_role($1, $2) as user_id) r`, [email, role]);
  console.log(chalk.green(`${email} is now ${role}`) + ` (user ${rows[0].user_id}); their sessions were revoked.`);
  if (role !== 'customer' && !rows[0].has_factor) {
    // Staff powers need aal2: until a factor is enrolled, a sign-in gets a session that can only enrol one.
    console.log(chalk.yellow(`${email} has no second factor: they must enrol one at their next sign-in `
      + '(required action enroll_mfa; until then every staff power answers AAL2_REQUIRED).'));
  }
} catch (e) {
  console.error(chalk.red(describeDbError(e)));
  process.exitCode = 1;
} finally {
  await client.end();
}
