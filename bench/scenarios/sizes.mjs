// Session validation and KYC status through PostgREST at 50 connections, against three floors measured
// in the same rounds, so all see the same machine (issue 18):
//   no-auth floor:  /rpc/bench_noop without a token, at a PostgREST without db-pre-request (PostgREST alone);
//   token floor:    the same with an access token (JWT verification, role and claims, no session check);
//   current floor:  the same with a token at the bench stack's PostgREST (the pre-request's session check);
// and the ceiling of any session check: /rpc/me with a token at the PostgREST without db-pre-request, which
// checks no session at all (what session validation would be if checking the session cost nothing).
// Saturated (no pauses) in alternating rounds, each judged by the median of its rounds' ratios to the no-auth
// floor; then "sized" (pauses at half the no-auth floor's throughput), alternating. Measured at each data size.
import { countBenchUsers } from '../lib/dataset.mjs';
import { alternate, combine, loginTokens, median } from '../lib/measure.mjs';

// Latency targets at 50 connections are read at the load a service is sized for: half of what the machine
// carries (the no-auth floor's throughput), so that one of two instances can take the other's traffic. Each
// connection pauses between a reply and its next request (exponentially distributed, mean `think` ms).
const SIZED_SHARE = 0.5;

export async function measureSize(ctx, label) {
  const { P, F, G, D, rounds, wrk, writeLines } = ctx;
  const tokens = await loginTokens(G, 50, 1);   // users with a KYC record (i % 10 = 1)
  const tf = writeLines('tokens', tokens.map((t) => t.access_token));
  const d = Math.max(3, D / 2);
  const bearer = { mode: 'bearer', lines: tf, c: 50, d };
  const [na, tk, cu, sr, kr, cr] = await alternate(rounds,
    (r) => wrk(`no-auth floor: /rpc/bench_noop, no token, no pre-request, round ${r}`, F, '/rpc/bench_noop', { mode: 'none', lines: tf, c: 50, d }),
    (r) => wrk(`token floor: /rpc/bench_noop, token, no pre-request, round ${r}`, F, '/rpc/bench_noop', bearer),
    (r) => wrk(`current floor: /rpc/bench_noop, token and pre-request, round ${r}`, P, '/rpc/bench_noop', bearer),
    (r) => wrk(`session validation: /rpc/me, round ${r}`, P, '/rpc/me', bearer),
    (r) => wrk(`KYC status: /rpc/get_user_latest_kyc, round ${r}`, P, '/rpc/get_user_latest_kyc', bearer),
    (r) => wrk(`ceiling: /rpc/me, token, no pre-request, round ${r}`, F, '/rpc/me', bearer));
  const f = combine(na, 'no-auth floor: /rpc/bench_noop without a token (PostgREST without db-pre-request)');
  const ft = combine(tk, 'token floor: /rpc/bench_noop with a token (PostgREST without db-pre-request)');
  const fc = combine(cu, 'current floor: /rpc/bench_noop with a token and the pre-request');
  const s = combine(sr, 'session validation: /rpc/me');
  const k = combine(kr, 'KYC status: /rpc/get_user_latest_kyc');
  const c = combine(cr, 'ceiling: /rpc/me with a token and no session check (PostgREST without db-pre-request)');
  // Each round's share of that round's no-auth floor; the median of the rounds.
  const share = (xs) => median(xs.map((x, i) => x.rps / na[i].rps));
  const p99share = (xs) => median(xs.map((x, i) => x.p99_ms / na[i].p99_ms));
  for (const [x, xs] of [[ft, tk], [fc, cu], [s, sr], [k, kr], [c, cr]]) {
    Object.assign(x, { share: share(xs), p99_share: p99share(xs), rounds_share: xs.map((y, i) => (y.rps / na[i].rps).toFixed(2)).join(', ') });
  }
  const think = Math.round((50 / (SIZED_SHARE * f.rps)) * 1000);
  // The p99 targets: rounds, alternating, the median of their p99s (one 100 ms stall of the
  // machine moves one round's tail, not the median).
  const [spRounds, kpRounds] = await alternate(rounds,
    (r) => wrk(`session validation, 50 connections, ${think} ms pauses, round ${r}`, P, '/rpc/me', { ...bearer, think }),
    (r) => wrk(`KYC status, 50 connections, ${think} ms pauses, round ${r}`, P, '/rpc/get_user_latest_kyc', { ...bearer, think }));
  const sp = combine(spRounds, `session validation, 50 connections, ${think} ms pauses`);
  const kp = combine(kpRounds, `KYC status, 50 connections, ${think} ms pauses`);
  const size = { users: await countBenchUsers(ctx.su), label, floor: f, floor_token: ft, floor_current: fc, session: s, kyc: k, session_sized: sp, kyc_sized: kp, ceiling: c };
  return { size, tokens, tf, f, ft, fc, s, k, c, sp, kp };
}
