import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createRouter } from '../../lib/create-app.js';

/**
 * The account security page: static files from gateway/public (dist/public in a build), and the
 * browser bundle of @simplewebauthn/browser straight from node_modules. Same
 * origin as the API it calls, under a strict Content-Security-Policy.
 */
const PUBLIC = path.resolve(import.meta.dirname, '..', '..', '..', 'public');
// Found the way Node finds the package (its exports hide the bundle's path): the same from gateway/src and from dist/.
const WEBAUTHN_BUNDLE = path.resolve(path.dirname(createRequire(import.meta.url).resolve('@simplewebauthn/browser')), '..', 'dist', 'bundle', 'index.umd.min.js');

const files: Record<string, { file: string; type: string }> = {
  '/account/': { file: path.join(PUBLIC, 'index.html'), type: 'text/html; charset=utf-8' },
  '/account/app.js': { file: path.join(PUBLIC, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/account/style.css': { file: path.join(PUBLIC, 'style.css'), type: 'text/css; charset=utf-8' },
  '/account/vendor/simplewebauthn-browser.js': { file: WEBAUTHN_BUNDLE, type: 'text/javascript; charset=utf-8' },
};

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function accountPageRouter() {
  const router = createRouter();
  router.get('/account', (c) => c.redirect('/account/', 301));
  for (const [route, { file, type }] of Object.entries(files)) {
    router.get(route, (c) => {
      c.header('Content-Type', type);
      c.header('Content-Security-Policy', CSP);
      c.header('X-Content-Type-Options', 'nosniff');
      c.header('Referrer-Policy', 'no-referrer');
      c.header('Cache-Control', 'no-cache');
      return c.body(fs.readFileSync(file));
    });
  }
  return router;
}
