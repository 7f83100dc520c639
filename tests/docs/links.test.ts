/**
 * Every relative link in README.md and docs/*.md, and every `docs/<file>.md#<anchor>` a source comment
 * or test cites, names a file that exists and, when it has one, an anchor that a heading of that
 * file makes. Docs are split and sections move between files; a link left behind fails here.
 * Anchors come from github-slugger (a well-kept library that makes them as GitHub does): lower case,
 * punctuation dropped, spaces to hyphens, `-1`, `-2` … on repeated headings.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import GithubSlugger from 'github-slugger';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

/** A heading's text as rendered: a link's words without its target, no HTML tags. */
function headingText(heading: string): string {
  return heading.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/<[^>]+>/g, '');
}

/** Lines outside fenced code blocks. */
function prose(text: string): string[] {
  let fence = false;
  return text.split('\n').filter((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fence = !fence;
      return false;
    }
    return !fence;
  });
}

const anchorCache = new Map<string, Set<string>>();
function anchors(file: string): Set<string> {
  const known = anchorCache.get(file);
  if (known) return known;
  const slugger = new GithubSlugger();
  const found = new Set<string>();
  for (const line of prose(readFileSync(file, 'utf8'))) {
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) found.add(m[1] as string);
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    found.add(slugger.slug(headingText(h[1] as string)));
  }
  anchorCache.set(file, found);
  return found;
}

/** What is wrong with `target` cited from `from`, or undefined if it resolves. */
function broken(from: string, target: string): string | undefined {
  const [file = '', anchor] = target.split('#');
  const dest = file === '' ? from : path.resolve(path.dirname(from), decodeURI(file));
  if (!existsSync(dest)) return `${target}: no file ${path.relative(root, dest)}`;
  if (anchor === undefined || !dest.endsWith('.md')) return undefined;
  return anchors(dest).has(anchor) ? undefined : `${target}: no heading #${anchor} in ${path.relative(root, dest)}`;
}

const markdown = ['README.md', ...readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mjs|js|cjs|sh)$/.test(e.name))
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)));
}
const sources = ['bin', 'edge', 'lib', 'drivers', 'models', 'harness', 'tests', 'bench', 'cloud-sync', 'scripts']
  .filter((d) => existsSync(path.join(root, d)))
  .flatMap(sourceFiles);

describe('links in the docs', () => {
  it.each(markdown)('%s: every relative link and anchor resolves', (file) => {
    const from = path.join(root, file);
    const targets = prose(readFileSync(from, 'utf8'))
      .map((line) => line.replace(/`[^`]*`/g, ''))
      .flatMap((line) => [...line.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1] as string))
      .filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t));
    expect(targets.map((t) => broken(from, t)).filter(Boolean)).toEqual([]);
  });

  it('source comments cite docs sections that exist', () => {
    const problems = sources.flatMap((file) =>
      [...readFileSync(path.join(root, file), 'utf8').matchAll(/(?<![\w/.-])docs\/[\w.-]+\.md(?:#[\w-]+)?/g)]
        .map((m) => broken(path.join(root, 'README.md'), m[0]))
        .filter(Boolean)
        .map((p) => `${file}: ${p}`),
    );
    expect(problems).toEqual([]);
  });

  it('makes anchors as GitHub does', () => {
    const slug = (h: string): string => new GithubSlugger().slug(headingText(h));
    expect(slug('Probe-side temporal pooling (`entry.match.pool`, issue #8)')).toBe('probe-side-temporal-pooling-entrymatchpool-issue-8');
    expect(slug('The heartbeat exchange: finding a store that is behind or ahead')).toBe('the-heartbeat-exchange-finding-a-store-that-is-behind-or-ahead');
    expect(slug('Where a drain\'s time goes (`npm run bench:sync`)')).toBe('where-a-drains-time-goes-npm-run-benchsync');
  });
});
