// Session validation and KYC status through PostgREST at 50 connections, with
// the PostgREST floor (a do-nothing endpoint) measured right before them so all
// see the same machine: saturated (no pauses), then "sized" (pauses at half the
// floor's throughput), in alternating rounds. Measured at each data size.
import { countBenchUsers } from '../lib/dataset.mjs';
import { alternate, combine, loginTokens } from '../lib/measure.mjs';

// Latency targets at 50 connections are read at the load a service is sized
// for: half of what the machine carries (the floor's throughput), so that one of
// two instances can take the other's traffic. Each connection pauses between a
// reply and its next request (exponentially distributed, mean `think` ms).
const SIZED_SHARE = 0.5;

export async function measureSize(ctx, label) {
  const { P, G, D, rounds, wrk, writeLines } = ctx;
  const tokens = await loginTokens(G, 50, 1);   // users with a KYC record (i % 10 = 1)
  const tf = writeLines('tokens', tokens.map((t) => t.access_token));
  // The floor right before the scenarios it is the floor of, so both see the same machine.
  const f = await wrk('PostgREST floor: /rpc/bench_noop', P, '/rpc/bench_noop', { mode: 'bearer', lines: tf, c: 50, d: D });
  const s = await wrk('session validation: /rpc/me', P, '/rpc/me', { mode: 'bearer', lines: tf, c: 50, d: D });
  const k = await wrk('KYC status: /rpc/get_user_latest_kyc', P, '/rpc/get_user_latest_kyc', { mode: 'bearer', lines: tf, c: 50, d: D });
  const think = Math.round((50 / (SIZED_SHARE * f.rps)) * 1000);
  // The p99 targets: rounds, alternating, the median of their p99s (one 100 ms stall of the
  // machine moves one round's tail, not the median).
  const [spRounds, kpRounds] = await alternate(rounds,
    (r) => wrk(`session validation, 50 connections, ${think} ms pauses, round ${r}`, P, '/rpc/me', { mode: 'bearer', lines: tf, c: 50, d: Math.max(3, D / 2), think }),
    (r) => wrk(`KYC status, 50 connections, ${think} ms pauses, round ${r}`, P, '/rpc/get_user_latest_kyc', { mode: 'bearer', lines: tf, c: 50, d: Math.max(3, D / 2), think }));
  const sp = combine(spRounds, `session validation, 50 connections, ${think} ms pauses`);
  const kp = combine(kpRounds, `KYC status, 50 connections, ${think} ms pauses`);
  const size = { users: await countBenchUsers(ctx.su), label, floor: f, session: s, kyc: k, session_sized: sp, kyc_sized: kp };
  return { size, tokens, tf, f, s, k, sp, kp };
}
