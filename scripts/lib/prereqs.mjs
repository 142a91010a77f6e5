// Finds the system prerequisites (PostgreSQL 15+, pg_cron, pgTAP, pg_prove, ...)
// and, as root on Debian, installs what is missing. Anywhere else it says
// exactly what to install and stops.
import { $, fs, path } from 'zx';

const isRoot = process.getuid?.() === 0;
const isDebian = fs.existsSync('/etc/debian_version');

export function findPgBin() {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  for (const v of [17, 16, 15]) {
    const dir = `/usr/lib/postgresql/${v}/bin`;
    if (fs.existsSync(path.join(dir, 'postgres'))) return dir;
  }
  return null;
}

async function pgDirs(bin) {
  const cfg = path.join(bin, 'pg_config');
  const major = (await $`${path.join(bin, 'postgres')} --version`.quiet()).stdout.match(/(\d+)/)[1];
  if (fs.existsSync(cfg)) {
    const lib = (await $`${cfg} --pkglibdir`.quiet()).stdout.trim();
    const share = (await $`${cfg} --sharedir`.quiet()).stdout.trim();
    return { major, lib, share };
  }
  return { major, lib: `/usr/lib/postgresql/${major}/lib`, share: `/usr/share/postgresql/${major}` };
}

/**
 * @param {{pgtap?: boolean, cron?: boolean, tools?: string[]}} want
 */
export async function ensurePrereqs(want = {}) {
  let bin = findPgBin();
  const missing = [];
  if (!bin) missing.push({ what: 'PostgreSQL 15+ server binaries', pkg: 'postgresql-15' });
  const check = async () => {
    const out = [];
    bin = findPgBin();
    if (!bin) return [{ what: 'PostgreSQL 15+ server binaries', pkg: 'postgresql-15' }];
    const { major, lib, share } = await pgDirs(bin);
    if (want.cron !== false && !fs.existsSync(path.join(lib, 'pg_cron.so')))
      out.push({ what: 'pg_cron (scheduled maintenance jobs)', pkg: `postgresql-${major}-cron` });
    if (want.pgtap && !fs.existsSync(path.join(share, 'extension', 'pgtap.control')))
      out.push({ what: 'pgTAP (database unit tests)', pkg: `postgresql-${major}-pgtap` });
    if (want.pgtap && !(await $`command -v pg_prove`.nothrow().quiet()).stdout.trim())
      out.push({ what: 'pg_prove (pgTAP runner)', pkg: 'libtap-parser-sourcehandler-pgtap-perl' });
    if (want.plpgsqlCheck && !fs.existsSync(path.join(share, 'extension', 'plpgsql_check.control')))
      out.push({ what: 'plpgsql_check (static analysis of PL/pgSQL)', pkg: `postgresql-${major}-plpgsql-check` });
    for (const [tool, pkg] of Object.entries(want.tools ?? {}))
      if (!(await $`command -v ${tool}`.nothrow().quiet()).stdout.trim()) out.push({ what: tool, pkg });
    return out;
  };
  missing.splice(0, missing.length, ...(await check()));
  if (missing.length === 0) return { bin };

  const pkgs = [...new Set(missing.map((m) => m.pkg))];
  if (isRoot && isDebian) {
    console.log(`Installing missing prerequisites: ${pkgs.join(' ')}`);
    await $`apt-get update -qq`.quiet();
    await $({ env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })`apt-get install -y -qq ${pkgs}`.quiet();
    const still = await check();
    if (still.length === 0) return { bin: findPgBin() };
    missing.splice(0, missing.length, ...still);
  }
  console.error('Missing prerequisites:');
  for (const m of missing) console.error(`  - ${m.what}: install the Debian package ${m.pkg}`);
  console.error(`\n  sudo apt-get install ${[...new Set(missing.map((m) => m.pkg))].join(' ')}\n`);
  process.exit(1);
}
