#!/usr/bin/env node
// `npm run demo`: the main job on the bundled samples, end to end and offline. It starts the
// sandbox (a local stand-in for Canvas) on a free port in this process, with known keys on (a
// letter for a key its directory does not know is refused, as Canvas would), previews the samples,
// then sends them to the sandbox with the built CLI, as a user would, and prints where the
// previews and reports are.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox } from '../dist/sandbox/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const demoOut = join('out', 'demo');
const runs = [
  { csv: 'samples/jury-duty.csv', template: 'jury-duty', extra: [] },
  { csv: 'samples/school-note.csv', template: 'school-note', extra: [] },
  // Keys only: names, birth dates and addresses come from the sandbox's FHIR directory.
  { csv: 'samples/keys-only.csv', template: 'patient-verification', extra: ['--lookup'] },
];

function run(args, env) {
  console.log(`\n$ canvas-letters ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

const sandbox = await startSandbox({ port: 0, latencyMs: 20, knownKeys: true });
const env = { CANVAS_BASE_URL: sandbox.url, CANVAS_CLIENT_ID: 'sandbox-client', CANVAS_CLIENT_SECRET: 'sandbox-secret', CANVAS_ACCESS_TOKEN: '' };
// A fresh ledger each time, so that the demo sends again instead of skipping what it sent before.
const ledger = join(demoOut, 'ledger.db');
rmSync(join(root, demoOut), { recursive: true, force: true });
let worst = 0;
try {
  for (const { csv, template, extra } of runs) {
    worst = Math.max(worst, await run(['preview', csv, '-t', template, ...extra, '-o', join(demoOut, template, 'preview')], env));
    worst = Math.max(worst, await run(['send', csv, '-t', template, ...extra, '-o', join(demoOut, template, 'send'), '--ledger', ledger, '--yes'], env));
  }
} finally {
  await sandbox.close();
}
console.log(`\nThe sandbox received ${sandbox.letters.length} letters (its inbox closed with the demo; run \`npx canvas-letters sandbox\` to keep one open).`);
for (const { template } of runs) {
  console.log(`${template}: review ${join(demoOut, template, 'preview', 'index.html')}; send report ${join(demoOut, template, 'send', 'report.csv')}`);
}
process.exitCode = worst;
