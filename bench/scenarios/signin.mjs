// Sign-in through the gateway at the production bcrypt cost, two connections
// per core: its throughput is judged against the bcrypt limit.
import os from 'node:os';
import { BENCH_DOMAIN } from '../lib/dataset.mjs';

export async function signinAtCost(ctx, { users, cost }) {
  const { G, D, wrk, writeLines } = ctx;
  const cores = os.cpus().length;
  const signinBodies = [];
  for (let i = 2; signinBodies.length < 2000 && i < users; i += 5) signinBodies.push(JSON.stringify({ email: `user${i}@${BENCH_DOMAIN}`, password: `bench password ${i % 4}` }));
  const signin = await wrk(`sign-in, bcrypt cost ${cost}`, G, '/auth/login', { mode: 'body', lines: writeLines('signin', signinBodies), c: 2 * cores, d: Math.max(D, 6) });
  return { signin };
}
