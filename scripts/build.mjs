#!/usr/bin/env node
// `npm run build`: the gateway for production, run as `node dist/src/server.js`
// (deploy/app.Dockerfile). gateway/src is compiled by tsc (tsconfig.build.json)
// into dist/src and gateway/public copied to dist/public: the layout of
// gateway/, so a module's paths to its neighbours hold in both.
// `--out-dir <dir>` builds elsewhere (inside the project, where node_modules is found).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { 'out-dir': { type: 'string', default: 'dist' } } });
const out = path.resolve(ROOT, values['out-dir']);

// A file whose source was deleted must not linger in the build.
fs.rmSync(out, { recursive: true, force: true });
execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', out],
  { cwd: ROOT, stdio: 'inherit' });
fs.cpSync(path.join(ROOT, 'gateway', 'public'), path.join(out, 'public'), { recursive: true });
console.log(`built ${path.relative(ROOT, path.join(out, 'src', 'server.js'))}`);
