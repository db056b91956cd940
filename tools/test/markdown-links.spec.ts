// Every relative link in the Markdown docs (README, docs/, bench and chart READMEs) resolves: the file exists and an
// #anchor names a heading of the target, as GitHub slugs it.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

import { ROOT } from './ops-fixtures';

/** The Markdown files whose links must resolve: the README, docs/, the benchmark and chart READMEs. */
function markdownFiles(): string[] {
  const found = ['README.md', 'bench/README.md'];
  const walk = (dir: string, keep: (name: string) => boolean): void => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path, keep);
      else if (keep(entry.name)) found.push(path);
    }
  };
  walk('docs', (name) => name.endsWith('.md'));
  walk('charts', (name) => name === 'README.md');
  return found.filter((path) => existsSync(join(ROOT, path)));
}

/** The lines of `markdown` outside fenced code blocks. */
function outsideFences(markdown: string): string[] {
  const lines: string[] = [];
  let fence: string | null = null;
  for (const line of markdown.split('\n')) {
    const marker = /^\s*(```|~~~)/.exec(line)?.[1];
    if (marker && (fence === null || fence === marker)) {
      fence = fence === null ? marker : null;
      continue;
    }
    if (fence === null) lines.push(line);
  }
  return lines;
}

/** Lines outside fenced code blocks, with inline code removed. */
function prose(markdown: string): string[] {
  return outsideFences(markdown).map((line) => line.replace(/`[^`]*`/g, ''));
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, each space a hyphen; repeats get -1, -2… */
function headingSlugs(markdown: string): Set<string> {
  const slugs = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of outsideFences(markdown)) {
    for (const [, id] of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) slugs.add(id);
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const text = heading[1]
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '')
      .replace(/[*_`~]/g, (c) => (c === '_' ? '_' : ''));
    const base = text
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    slugs.add(count === 0 ? base : `${base}-${count}`);
  }
  return slugs;
}

describe('Markdown links', () => {
  const files = markdownFiles();

  it('finds the documents', () => {
    expect(files).toEqual(expect.arrayContaining(['README.md', 'docs/RUNBOOK.md', 'docs/configuration.md', 'bench/README.md']));
  });

  it('slugs headings as GitHub does', () => {
    const slugs = headingSlugs('# Live events (socket.io and WebSocket)\n## Monitoring & Alerts\n## P0 - Critical `Outage`\n## A\n## A\n');
    expect([...slugs]).toEqual(['live-events-socketio-and-websocket', 'monitoring--alerts', 'p0---critical-outage', 'a', 'a-1']);
  });

  it.each(files)('%s: every relative link and #anchor resolves', (file) => {
    const broken: string[] = [];
    const links = prose(readFileSync(join(ROOT, file), 'utf8')).flatMap((line) => [
      ...[...line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]),
      ...[...line.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/g)].map((m) => m[1]),
    ]);
    for (const link of links) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // http:, https:, mailto:
      const [path, anchor] = link.split('#', 2) as [string, string | undefined];
      const target = path === '' ? join(ROOT, file) : join(ROOT, dirname(file), decodeURIComponent(path));
      if (!existsSync(target)) {
        broken.push(`${link}: no file ${relative(ROOT, target)}`);
        continue;
      }
      if (anchor === undefined || !target.endsWith('.md') || statSync(target).isDirectory()) continue;
      if (!headingSlugs(readFileSync(target, 'utf8')).has(decodeURIComponent(anchor))) {
        broken.push(`${link}: no heading #${anchor} in ${relative(ROOT, target)}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
