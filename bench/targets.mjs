// The bench's targets, each threshold written once. bench/run.mjs judges every
// measurement with `judge`, and bench/lib/report.mjs prints the thresholds from
// the same rows (`thresholdText`), so a threshold cannot say one thing in the
// report and another in the verdict.
//
// comparison: '≤', '<', '≥', '=' judge `value` against `threshold`;
//   'reported' shows a figure without judging it.
// unit: 'ms', 'growth' (a relative change, shown as ±%), '' (a plain number).
// noErrors: the scenario must also have had no errors.
// relative: the threshold is a multiple of a reference measured in the same
//   run (`judge(..., { reference })`), never less than `floor`.
// {subject} in a description is filled in when one target is judged for several things.
export const TARGETS = [
  // Issue 18: against the no-auth floor (/rpc/bench_noop without a token at a PostgREST without db-pre-request),
  // the median of alternating rounds' shares. The two other floors show where the rest goes.
  { id: 'session-throughput', description: 'session validation throughput / no-auth floor (50 connections)', comparison: '≥', threshold: 0.6, unit: '' },
  { id: 'kyc-throughput', description: 'KYC status throughput / no-auth floor (50 connections)', comparison: 'reported', unit: '' },
  { id: 'floor-share', description: '{subject} throughput / no-auth floor (50 connections)', comparison: 'reported', unit: '' },
  { id: 'session-p99', description: 'session validation p99', comparison: '≤', threshold: 25, unit: 'ms', noErrors: true },
  { id: 'signin-throughput', description: 'sign-in throughput / bcrypt limit', comparison: '≥', threshold: 0.85, unit: '' },
  { id: 'signin-own-work', description: 'sign-in own work excluding bcrypt, p50', comparison: '≤', threshold: 5, unit: 'ms' },
  { id: 'mfa-p99', description: 'MFA verification p99', comparison: '≤', threshold: 50, unit: 'ms', noErrors: true },
  { id: 'kyc-p99', description: 'KYC status p99', comparison: '≤', threshold: 25, unit: 'ms', noErrors: true },
  { id: 'refresh-p99', description: 'token refresh p99', comparison: '≤', threshold: 25, unit: 'ms', noErrors: true },
  // Without pauses, 50 connections saturate the machine: each request waits for
  // the others (mean latency = 50 / throughput), whatever the endpoint does.
  { id: 'saturated-p99', description: '{subject} p99 at 50 connections without pauses (saturated: mean latency = 50 / throughput)', comparison: 'reported', unit: 'ms' },
  { id: 'saturated-p99-ratio', description: "{subject} p99 / the no-auth floor's p99 at 50 connections without pauses", comparison: 'reported', unit: '' },
  { id: 'flood-errors', description: '1000 connections to {subject}: socket errors + 5xx', comparison: '=', threshold: 0, unit: '' },
  { id: 'flood-recovery', description: '{subject} right after 1000 connections: p50', comparison: '≤', threshold: 3, unit: 'ms',
    relative: 'before', floor: 5, noErrors: true },
  { id: 'audit-cost', description: 'audited update cost / unaudited (pgbench)', comparison: '≤', threshold: 1.5, unit: '' },
  { id: 'audit-cost-moving', description: 'audited update cost / unaudited when the address changes every time (PII fingerprinted on both sides)', comparison: 'reported', unit: '' },
  { id: 'audit-history-p99', description: "one user's audit history p99", comparison: '≤', threshold: 10, unit: 'ms' },
  // Growth is judged only between sizes measured in the same run (between runs
  // this machine's speed moves by a third); against another run it is shown only.
  { id: 'growth', description: '{subject} p50 growth from 100,000 users to the full data set', comparison: '<', threshold: 0.2, unit: 'growth' },
];

export const TARGET = Object.fromEntries(TARGETS.map((t) => [t.id, t]));

const num = (x) => (Number.isInteger(x) ? String(x) : x.toFixed(2));
const withUnit = (t, x) => (t.unit === 'ms' ? `${num(x)} ms` : t.unit === 'growth' ? `${x >= 0 ? '+' : ''}${Math.round(x * 100)}%` : num(x));

/** The threshold as the report prints it, from the table. */
export function thresholdText(t) {
  if (t.comparison === 'reported') return 'reported';
  const limit = t.relative ? `${t.threshold}× ${t.relative} (or ${withUnit(t, t.floor)})` : withUnit(t, t.threshold);
  return `${t.comparison} ${limit}${t.noErrors ? ', no errors' : ''}`;
}

const compare = { '≤': (a, b) => a <= b, '<': (a, b) => a < b, '≥': (a, b) => a >= b, '=': (a, b) => a === b };

/**
 * A result row for the report: target `id` judged on `value` (pass true or
 * false; null when only reported, or with `judged: false`, e.g. against another run).
 * `subject` fills {subject}; `detail` (how it was measured) follows the name in
 * parentheses; `errors` for noErrors targets; `reference` for relative ones.
 */
export function judge(id, value, { subject, detail, errors = 0, reference, judged = true, note } = {}) {
  const t = TARGET[id];
  if (!t) throw new Error(`no bench target ${id}`);
  const name = t.description.replace('{subject}', subject ?? '') + (detail ? ` (${detail})` : '');
  let pass = null;
  if (t.comparison !== 'reported' && judged && value != null) {
    const limit = t.relative ? Math.max(t.floor, t.threshold * reference) : t.threshold;
    pass = compare[t.comparison](value, limit) && (!t.noErrors || errors === 0);
  }
  const row = { id, name, value, threshold: thresholdText(t), unit: t.unit, pass };
  if (note ?? (pass === null ? 'informational' : undefined)) row.note = note ?? 'informational';
  return row;
}
