#!/usr/bin/env zx
// Loads a sanctions or PEP watchlist into app.watchlists / app.watchlist_entries,
// then re-screens every approved (and in-progress) KYC verification against it.
//
//   npm run watchlist:load -- <file.csv> [--list <name>] [--version <version>] [--kind sanctions|pep]
//
// CSV: a header row, RFC 4180 quoting, UTF-8, close to OpenSanctions' "simple"
// CSV (targets.simple.csv). Columns (others are ignored):
//   id          unique id of the entry in the list (required)
//   schema      Person (default) or Organization, ...
//   name        primary name (required)
//   aliases     other names, separated by ";"
//   birth_date  YYYY, YYYY-MM or YYYY-MM-DD; several separated by ";" (the first is kept)
//   countries   ISO 3166-1 alpha-2 codes, separated by ";" (any case)
//   sanctions   programme / listing text (or `program`)
//   dataset     source dataset, kept with the programme
//   topics      OpenSanctions topics: "sanction" makes a sanctions entry, "role.pep" a PEP entry;
//               a `kind` column (sanctions|pep) may be given instead; else --kind (default sanctions)
// The list name (--list, default: the file name) and version (--version,
// default: the first 16 hex digits of the file's SHA-256) identify a load:
// loading the same version again is a no-op, so re-running is safe; a new
// version of a list replaces the previous one for screening.
// Connects as the database owner: DATABASE_URL, or the local stack of
// STACK_PROFILE (dev by default; see scripts/lib/stack.mjs).
import { argv, chalk, fs, path } from 'zx';
import crypto from 'node:crypto';
import readline from 'node:readline';
import pg from 'pg';
import { stackConfig, urls } from './lib/stack.mjs';
import { describeDbError } from './lib/database.mjs';

const file = argv._[0];
if (!file || argv.help) {
  console.error('usage: npm run watchlist:load -- <file.csv> [--list <name>] [--version <version>] [--kind sanctions|pep]');
  process.exit(file ? 0 : 2);
}
const defaultKind = argv.kind ?? 'sanctions';
if (!['sanctions', 'pep'].includes(defaultKind)) {
  console.error('--kind must be sanctions or pep');
  process.exit(2);
}
const list = String(argv.list ?? path.basename(file).replace(/\.[^.]+$/, '')).toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').slice(0, 64);
const sha = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const version = String(argv.version ?? sha.slice(0, 16));
const BATCH = 1000;

/** Records of an RFC 4180 CSV stream (quoted fields may span lines). */
async function* records(stream) {
  const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
  let fields = [], field = '', quoted = false, pending = false;
  for await (const line of rl) {
    if (pending) field += '\n';
    for (let i = 0; i < line.length; i++) {
      const ch = line[i];
      if (quoted) {
        if (ch === '"' && line[i + 1] === '"') { field += '"'; i++; }
        else if (ch === '"') quoted = false;
        else field += ch;
      } else if (ch === '"' && field === '') quoted = true;
      else if (ch === ',') { fields.push(field); field = ''; }
      else field += ch;
    }
    if (quoted) { pending = true; continue; }
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '')) yield fields;
    fields = []; field = ''; pending = false;
  }
  if (pending) throw new Error('unterminated quoted field at end of file');
}

const split = (v) => (v ?? '').split(';').map((s) => s.trim()).filter(Boolean);
function kindOf(row) {
  if (row.kind === 'sanctions' || row.kind === 'pep') return row.kind;
  const topics = split(row.topics);
  if (topics.includes('sanction')) return 'sanctions';
  if (topics.includes('role.pep')) return 'pep';
  return defaultKind;
}

const connectionString = process.env.DATABASE_URL ?? urls(stackConfig(process.env.STACK_PROFILE ?? 'dev')).owner;
const client = new pg.Client({ connectionString, application_name: 'watchlist-load' });
await client.connect();
const t0 = Date.now();
try {
  await client.query('begin');
  const { rows: [{ id }] } = await client.query('select app.begin_watchlist_load($1, $2, $3) as id', [list, version, `${path.basename(file)} sha256:${sha}`]);
  if (!id) {
    console.log(`${chalk.bold(list)} version ${version} is already loaded: nothing to do.`);
    await client.query('rollback');
    process.exit(0);
  }
  console.log(`Loading ${chalk.bold(list)} version ${version} from ${file}`);
  let header = null, batch = [], total = 0, skipped = 0, line = 1;
  const flush = async () => {
    if (!batch.length) return;
    const { rows: [r] } = await client.query('select app.add_watchlist_entries($1, $2::jsonb) as n', [id, JSON.stringify(batch)]);
    total += r.n;
    skipped += batch.length - r.n;
    batch = [];
    process.stdout.write(`\r  ${total} entries loaded`);
  };
  for await (const fields of records(fs.createReadStream(file, 'utf8'))) {
    line++;
    if (!header) { header = fields.map((h) => h.trim().toLowerCase().replace(/^\uFEFF/, '')); line--; continue; }
    const row = Object.fromEntries(header.map((h, i) => [h, fields[i]?.trim() ?? '']));
    if (!row.id || !row.name) { skipped++; console.warn(`\n  line ${line}: no id or name, skipped`); continue; }
    const birth = split(row.birth_date).find((d) => /^\d{4}(-\d{2}(-\d{2})?)?$/.test(d)) ?? null;
    batch.push({
      id: row.id.slice(0, 200), kind: kindOf(row), schema: row.schema || 'Person', name: row.name.slice(0, 500),
      aliases: split(row.aliases).map((a) => a.slice(0, 500)), birth_date: birth,
      countries: split(row.countries).filter((c) => /^[a-z]{2}$/i.test(c)),
      program: [row.sanctions || row.program, row.dataset].filter(Boolean).join(' / ').slice(0, 1000) || null,
    });
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  process.stdout.write('\n');
  console.log(`  re-screening verifications against ${list}@${version} ...`);
  const { rows: [f] } = await client.query('select app.finish_watchlist_load($1) as hits', [id]);
  await client.query('commit');
  console.log(`${chalk.green('done')}: ${total} entries${skipped ? `, ${skipped} skipped (duplicate id or incomplete)` : ''}, ` +
    `${f.hits} new potential match(es) for review, in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
} catch (e) {
  await client.query('rollback').catch(() => {});
  console.error(chalk.red(`\nwatchlist load failed, nothing was changed: ${describeDbError(e)}`));
  process.exitCode = 1;
} finally {
  await client.end();
}
