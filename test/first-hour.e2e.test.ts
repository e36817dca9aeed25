/**
 * End-to-end: the first hour of a new user, as issue 14 tells it. In an empty folder: `init`, then
 * the practice's own export (semicolon-separated, from Excel: a BOM, CRLF, column names with
 * spaces, day-first dates) gets a job in the config file, and `templates`, `preview --job` and
 * `send --job` to the CLI's own `sandbox --known-keys` all work on the first try.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startCli, tempDir } from './support/cli.js';

const EXPORT = [
  'Chart Key;Given Name;Family Name;Birth Date;Jury Date;Court Name',
  "86b2adc6ddb9b219ddc2c9e73074efba;Siobhán;O'Brien;14/03/1958;14/12/2026;Lane County Circuit Court",
  'cf4f53185e0d65b8722631bc7b9405c5;Anthony;D\'Angelo;02/11/1971;07/12/2026;"Lane County Probate; Family Court"',
  '14419a9a9247d2f727f04c8152d5aea6;José;Núñez;21/06/1984;19/01/2027;',
].join('\r\n');

const JURY_JOB = {
  template: 'letter',
  dateInput: 'DD/MM/YYYY',
  map: {
    patientKey: 'Chart Key',
    firstName: 'Given Name',
    lastName: 'Family Name',
    dateOfBirth: 'Birth Date',
    summonsDate: 'Jury Date',
    courtName: 'Court Name',
  },
};

let sandbox: ChildProcess | undefined;
afterEach(() => {
  sandbox?.kill('SIGINT');
  sandbox = undefined;
});

/** Start `canvas-letters sandbox --known-keys --port 0` and resolve with the base URL it prints. */
function startSandboxCli(cwd: string): Promise<string> {
  const run = startCli(['sandbox', '--known-keys', '--port', '0'], { cwd });
  sandbox = run.child;
  return new Promise((resolve, reject) => {
    let out = '';
    run.child.stdout!.on('data', (d: Buffer | string) => {
      out += d.toString();
      const m = /^CANVAS_BASE_URL=(\S+)$/m.exec(out);
      if (m) resolve(m[1]!);
    });
    void run.done.then((r) => reject(new Error(`sandbox exited ${r.code}: ${r.stderr}`)));
  });
}

describe('the first hour, in an empty folder', () => {
  it('init, templates, preview --job and send --job to the sandbox work on the first try with an Excel export', async () => {
    const dir = tempDir('cl-first-hour-');
    const init = runCli(['init'], { cwd: dir });
    expect(init.code).toBe(0);
    expect(init.stdout).toMatch(/canvas-letters templates/);

    // The user's own export, and a job for it in the config file init wrote.
    writeFileSync(join(dir, 'jury-export.csv'), '\ufeff' + EXPORT + '\r\n');
    const configFile = join(dir, 'canvas-letters.config.json');
    const config = JSON.parse(readFileSync(configFile, 'utf8')) as { jobs: Record<string, unknown> };
    config.jobs.jury = JURY_JOB;
    writeFileSync(configFile, JSON.stringify(config, null, 2));

    const templates = runCli(['templates'], { cwd: dir });
    expect(templates.code, templates.stderr).toBe(0);
    expect(templates.stdout).toMatch(/^letter /m);

    const preview = runCli(['preview', 'jury-export.csv', '--job', 'jury', '-o', 'out/preview'], { cwd: dir });
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stderr).toMatch(/previewed 3|3 previewed/);
    expect(preview.stderr).toContain('index.html');
    expect(preview.stderr).toMatch(/config: .*canvas-letters\.config\.json \(job jury\)/);
    const letter = readFileSync(join(dir, 'out/preview/letters/row-00001.html'), 'utf8');
    expect(letter).toContain('March 14, 1958'); // read day first, as the job says
    expect(letter).toContain('December 14, 2026');

    const noEnv = { CANVAS_BASE_URL: undefined, CANVAS_CLIENT_ID: undefined, CANVAS_CLIENT_SECRET: undefined, CANVAS_ACCESS_TOKEN: undefined };
    const tooSoon = runCli(['send', 'jury-export.csv', '--job', 'jury', '--yes', '-o', 'out/too-soon'], { cwd: dir, env: noEnv });
    expect(tooSoon.code).toBe(2); // before .env exists, the message says how to make it
    expect(tooSoon.stderr).toContain('cp .env.example .env');

    const url = await startSandboxCli(dir);
    const env = readFileSync(join(dir, '.env.example'), 'utf8').replace(/^CANVAS_BASE_URL=.*$/m, `CANVAS_BASE_URL=${url}`);
    writeFileSync(join(dir, '.env'), env, { mode: 0o600 });
    const send = runCli(['send', 'jury-export.csv', '--job', 'jury', '--yes', '-o', 'out/send'], {
      cwd: dir,
      env: noEnv,
    });
    expect(send.code, send.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'out/send/report.json'), 'utf8')) as {
      summary: { counts: Record<string, number>; config?: { job?: string } };
    };
    expect(report.summary.counts.sent).toBe(3);
    expect(report.summary.config?.job).toBe('jury');
    const received = (await (await fetch(`${url}/sandbox/letters`)).json()) as unknown[] | { letters: unknown[] };
    expect(Array.isArray(received) ? received.length : received.letters.length).toBe(3);
  });
});
