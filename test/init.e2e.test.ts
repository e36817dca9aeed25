/**
 * End-to-end: `canvas-letters init [dir]` with the built CLI, as a new user runs it in an empty
 * folder: it writes the starter project (0600/0700 under `umask 000`), prints what it wrote and the
 * next commands, and the project it writes works with `templates` and `preview` at once. Run again,
 * it skips every file. The package ships `starter/`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { starterEntries } from '../src/init/index.js';
import { CLI, ROOT, runCli, tempDir, type CliResult } from './support/cli.js';

let dir: string;
beforeEach(() => {
  dir = tempDir('cl-init-e2e-');
});

const FILES = starterEntries().filter((e) => e.kind === 'file').map((e) => e.rel);
const mode = (p: string) => statSync(p).mode & 0o777;
/** Not run through npx, whatever ran the tests. */
const env = { npm_command: '' };

/** `init` under `umask 000`, so the modes it sets are its own. */
function init(args: string[] = [], cwd = dir): CliResult {
  const r = spawnSync('sh', ['-c', 'umask 000 && exec "$@"', 'sh', process.execPath, CLI, 'init', ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('canvas-letters init', () => {
  it('init in an empty folder, then templates and preview patients.csv --job letter exit 0', () => {
    const r = init();
    expect(r.code).toBe(0);
    for (const rel of FILES) expect([rel, mode(join(dir, rel))]).toEqual([rel, 0o600]);
    for (const folder of ['templates', 'templates/images', 'templates/partials']) expect(mode(join(dir, folder))).toBe(0o700);
    expect(r.stdout).toContain(FILES.map((f) => `  wrote    ${f}\n`).join(''));
    expect(r.stdout).toContain(`${FILES.length} of ${FILES.length} files written`);
    expect(r.stdout).toContain(
      [
        'Next:',
        '  canvas-letters templates',
        '  canvas-letters preview patients.csv --job letter',
        '  canvas-letters sandbox --known-keys   (in another terminal), then: cp .env.example .env && canvas-letters send patients.csv --job letter',
      ].join('\n'),
    );
    expect(r.stdout).not.toContain('cd ');

    const templates = runCli(['templates'], { cwd: dir });
    expect([templates.code, templates.stderr]).toEqual([0, '']);
    expect(templates.stdout).toMatch(/^letter {2}\(/);
    expect(templates.stdout).toContain('required: dateOfBirth, firstName, lastName, summonsDate');

    const preview = runCli(['preview', 'patients.csv', '--job', 'letter', '-o', 'out/first'], { cwd: dir });
    expect([preview.code, preview.stderr]).toEqual([0, expect.stringContaining('3 rows: 3 previewed')]);
    const letter = readFileSync(join(dir, 'out', 'first', 'letters', 'row-00001.html'), 'utf8');
    expect(letter).toContain('Siobhán O&#x27;Brien, born March 14, 1958');
    expect(letter).toContain('src="data:image/png;base64,');
    expect(letter).toContain('class="practice-name" style="');
  });

  it('init twice: the second run says every file was skipped, changes nothing and exits 0', () => {
    expect(init().code).toBe(0);
    const before = FILES.map((rel) => readFileSync(join(dir, rel)));
    const r = init();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(FILES.map((f) => `  skipped  ${f} (already there: kept as it is)\n`).join(''));
    expect(r.stdout).toContain(`every file was skipped: all ${FILES.length} were already there (init never overwrites a file)`);
    expect(r.stdout).not.toContain('wrote');
    expect(FILES.map((rel) => readFileSync(join(dir, rel)))).toEqual(before);
  });

  it('init <dir> makes the folder, and the next commands start with cd <dir> (quoted for the shell)', () => {
    const r = init(['my letters']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^made .*my letters and set it up:\n/);
    expect(r.stdout).toContain("Next:\n  cd 'my letters'\n  canvas-letters templates\n");
    expect(mode(join(dir, 'my letters'))).toBe(0o700);
  });

  it('run through npx, the next commands say npx canvas-letters', () => {
    const r = runCli(['init'], { cwd: dir, env: { npm_command: 'exec' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  npx canvas-letters preview patients.csv --job letter\n');
  });

  it('with a .env already there, the send line does not copy over it', () => {
    expect(init().stdout).toContain('then: cp .env.example .env && canvas-letters send');
    spawnSync('cp', ['.env.example', '.env'], { cwd: dir });
    const again = init();
    expect(again.stdout).not.toContain('cp .env.example');
    expect(again.stdout).toContain('then: with CANVAS_* in your .env pointing at it (see .env.example): canvas-letters send patients.csv --job letter\n');
  });

  it('a symlink in the way refuses the run with exit 2, naming it, and nothing is written', () => {
    spawnSync('ln', ['-s', '/nonexistent/elsewhere', 'patients.csv'], { cwd: dir });
    const r = init();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('patients.csv is a symbolic link');
    expect(r.stderr).toContain('wrote nothing');
    expect(r.stdout).toBe('');
  });
});

describe('no project here', () => {
  it('templates in an empty folder points to init (exit 2)', () => {
    const r = runCli(['templates'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `canvas-letters: templates folder not found: ${join(dir, 'templates')}; run canvas-letters init to start a project here, or give --templates-dir\n`,
    );
  });
});

describe('the package', () => {
  it('npm pack --dry-run lists every file of starter/', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    const [pack] = JSON.parse(r.stdout) as [{ files: { path: string }[] }];
    const paths = pack.files.map((f) => f.path);
    expect(FILES.map((f) => `starter/${f}`).filter((f) => !paths.includes(f))).toEqual([]);
  });
});
