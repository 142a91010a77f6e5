import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createRouter } from '../../lib/create-app.js';

/**
 * The compliance back office: static files from gateway/public/backoffice (dist/public/backoffice in a build),
 * lit's ES modules and Chart.js's browser bundle straight from node_modules. The page calls the public API only:
 * the gateway (same origin) and PostgREST, at API_PUBLIC_URL (CORS) or, behind the proxy, on the same origin.
 */
const PUBLIC = path.resolve(import.meta.dirname, '..', '..', '..', 'public', 'backoffice');
const require = createRequire(import.meta.url);
// The folder of an installed package, found the way Node finds it (from gateway/src and from dist/ alike).
const packageDir = (name: string) => {
  const file = require.resolve(name);
  const at = file.lastIndexOf(path.join('node_modules', name));
  return file.slice(0, at + path.join('node_modules', name).length);
};

/** Vendor ES modules: URL prefix under /backoffice/vendor/ → the package folder it is served from (only .js files). */
const VENDOR: Record<string, string> = {
  'lit': packageDir('lit'),
  'lit-html': packageDir('lit-html'),
  'lit-element': packageDir('lit-element'),
  '@lit/reactive-element': packageDir('@lit/reactive-element'),
};
const CHART_BUNDLE = path.join(packageDir('chart.js'), 'dist', 'chart.umd.min.js');

// The page's modules import lit by its bare name; this import map (inline, allowed by its hash) says where it is.
const IMPORT_MAP = JSON.stringify({ imports: {
  'lit': '/backoffice/vendor/lit/index.js',
  'lit/': '/backoffice/vendor/lit/',
  'lit-html': '/backoffice/vendor/lit-html/lit-html.js',
  'lit-html/': '/backoffice/vendor/lit-html/',
  'lit-element/': '/backoffice/vendor/lit-element/',
  '@lit/reactive-element': '/backoffice/vendor/@lit/reactive-element/reactive-element.js',
  '@lit/reactive-element/': '/backoffice/vendor/@lit/reactive-element/',
} });
const IMPORT_MAP_HASH = `'sha256-${crypto.createHash('sha256').update(IMPORT_MAP).digest('base64')}'`;

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };
const escapeAttr = (s: string) => s.replace(/[&"<>]/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** `apiUrl`: PostgREST's public URL when it is not on this origin (without it, the page calls /rpc on its own origin). */
export function backofficePageRouter({ apiUrl }: { apiUrl?: string }) {
  const apiOrigin = apiUrl ? new URL(apiUrl).origin : '';
  // No inline script but the import map, no inline style, nothing from another origin but the API; never framed.
  const csp = [`default-src 'none'`, `script-src 'self' ${IMPORT_MAP_HASH}`, `style-src 'self'`, `img-src 'self' blob: data:`,
    `frame-src blob:`, `connect-src 'self'${apiOrigin ? ` ${apiOrigin}` : ''}`, `base-uri 'none'`, `form-action 'none'`, `frame-ancestors 'none'`].join('; ');
  const index = fs.readFileSync(path.join(PUBLIC, 'index.html'), 'utf8')
    .replace('<!--import-map-->', `<script type="importmap">${IMPORT_MAP}</script>`)
    .replace('__API_URL__', escapeAttr(apiOrigin));

  const send = (c: import('hono').Context, body: string | Buffer, type: string) => {
    c.header('Content-Type', type);
    c.header('Content-Security-Policy', csp);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('Cache-Control', 'no-cache');
    return c.body(typeof body === 'string' ? body : new Uint8Array(body));
  };
  /** A file inside `dir` (never outside it), or undefined. */
  const inside = (dir: string, rel: string) => {
    const file = path.resolve(dir, rel);
    return file.startsWith(dir + path.sep) && TYPES[path.extname(file)] && fs.existsSync(file) && fs.statSync(file).isFile() ? file : undefined;
  };

  const router = createRouter();
  router.get('/backoffice', (c) => c.redirect('/backoffice/', 301));
  router.get('/backoffice/', (c) => send(c, index, 'text/html; charset=utf-8'));
  router.get('/backoffice/vendor/chart.umd.min.js', (c) => send(c, fs.readFileSync(CHART_BUNDLE), TYPES['.js']!));
  router.get('/backoffice/*', (c, next) => {
    let rel: string;
    try {
      rel = decodeURIComponent(c.req.path.slice('/backoffice/'.length));
    } catch {
      return next();  // not a path any file has
    }
    let file: string | undefined;
    if (rel.startsWith('vendor/')) {
      const prefix = Object.keys(VENDOR).find((p) => rel.startsWith(`vendor/${p}/`));
      file = prefix && rel.endsWith('.js') ? inside(VENDOR[prefix]!, rel.slice(`vendor/${prefix}/`.length)) : undefined;
    } else {
      file = inside(PUBLIC, rel);
    }
    return file ? send(c, fs.readFileSync(file), TYPES[path.extname(file)]!) : next();
  });
  return router;
}
