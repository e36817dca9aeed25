/**
 * The README's "How the code is laid out" section matches the tree: every backticked `src/` or
 * `test/` path it names exists (a folder when it ends in `/`), every bare `*.ts` name on a line is
 * a file of the first folder that line names, every folder and root file of `src/` is named, and
 * the pipeline's stages are listed in their order.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const TITLE = '## How the code is laid out';
const STAGES = ['input', 'plan', 'templates', 'lookup', 'ledger', 'send', 'canvas', 'preview', 'report'];

/** The section's text, from its title to the next `## ` title. */
function section(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n${TITLE}\n`);
  expect(start, 'README has the section').toBeGreaterThan(-1);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start + 1, end === -1 ? undefined : end);
}

/** The backticked spans of a text, in order. */
function spans(text: string): string[] {
  return [...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
}

const isRepoPath = (s: string) => /^(src|test)\//.test(s);

function kind(path: string): 'file' | 'folder' | 'missing' {
  try {
    return statSync(join(ROOT, path)).isDirectory() ? 'folder' : 'file';
  } catch {
    return 'missing';
  }
}

describe('README code map', () => {
  it('comes just before "Contributing / checks"', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const titles = readme.split('\n').filter((l) => l.startsWith('## '));
    expect(titles[titles.indexOf(TITLE) + 1]).toBe('## Contributing / checks');
  });

  it('names only folders and files that exist', () => {
    const named = spans(section()).filter(isRepoPath);
    expect(named.length).toBeGreaterThan(10);
    for (const path of named) expect([path, kind(path)]).toEqual([path, path.endsWith('/') ? 'folder' : 'file']);
  });

  it('a bare file name on a line is a file of the folder that line names first', () => {
    let checked = 0;
    for (const line of section().split('\n')) {
      const names = spans(line);
      const folder = names.find((s) => isRepoPath(s) && s.endsWith('/'));
      for (const name of names.filter((s) => /^[\w.-]+\.ts$/.test(s))) {
        expect(folder, `a folder on the line naming ${name}`).toBeDefined();
        expect([folder + name, kind(folder + name)]).toEqual([folder + name, 'file']);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('names every folder of src/ and every file at its root', () => {
    const named = new Set(spans(section()).filter(isRepoPath));
    const entries = readdirSync(join(ROOT, 'src'), { withFileTypes: true });
    const wanted = [
      ...entries.filter((e) => e.isDirectory()).map((e) => `src/${e.name}/`),
      ...entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => `src/${e.name}`),
    ];
    expect(wanted.filter((p) => !named.has(p))).toEqual([]);
  });

  it('lists the stages of the pipeline in order, one table row each', () => {
    const rows = section()
      .split('\n')
      .filter((l) => /^\| [a-z]+ \| `src\//.test(l));
    expect(rows.map((l) => /^\| ([a-z]+) \| `src\/([a-z-]+)\/`/.exec(l)?.slice(1))).toEqual(STAGES.map((s) => [s, s]));
  });
});
