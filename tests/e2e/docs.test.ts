// The README is a front door (issue 16): short, and every link in it and in the
// documents it leads to resolves to a file (and a heading, for #anchors).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const documents = ['README.md', 'bench/README.md', 'db/CONVENTIONS.md', 'db/errors.md',
  ...fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
const anchor = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');

describe('documentation', () => {
  it('keeps the README at most 160 lines', () => {
    expect(fs.readFileSync(path.join(root, 'README.md'), 'utf8').trimEnd().split('\n').length).toBeLessThanOrEqual(160);
  });

  it('has no link that does not resolve', () => {
    const broken: string[] = [];
    for (const doc of documents) {
      const text = fs.readFileSync(path.join(root, doc), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(https?:|mailto:)/.test(target!)) continue;
        const [file, hash] = target!.split('#') as [string, string | undefined];
        const resolved = file ? path.resolve(path.dirname(path.join(root, doc)), decodeURIComponent(file)) : path.join(root, doc);
        if (!fs.existsSync(resolved)) { broken.push(`${doc}: ${target}`); continue; }
        if (hash && resolved.endsWith('.md')) {
          const headings = [...fs.readFileSync(resolved, 'utf8').matchAll(/^#+ (.+)$/gm)].map((m) => anchor(m[1]!));
          if (!headings.includes(hash)) broken.push(`${doc}: ${target} (no such heading)`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
