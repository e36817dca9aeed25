#!/usr/bin/env node
// `npm run demo`: preview both bundled samples with the built CLI, as a user would run it.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.js');
const runs = [
  { csv: 'samples/jury-duty.csv', template: 'jury-duty' },
  { csv: 'samples/school-note.csv', template: 'school-note' },
];

let worst = 0;
for (const { csv, template } of runs) {
  const out = join('out', 'demo', template);
  console.log(`\n$ canvas-letters preview ${csv} -t ${template} -o ${out}`);
  const r = spawnSync(process.execPath, [cli, 'preview', csv, '-t', template, '-o', out], { cwd: root, stdio: 'inherit' });
  worst = Math.max(worst, r.status ?? 1);
  console.log(`open ${join(out, 'index.html')} in a browser to review the letters`);
}
process.exitCode = worst;
