#!/usr/bin/env node
// `npm run bench`: every benchmark in sequence (after one build), each in its own process, with
// their output as it comes; then every PASS/FAIL target line again in one summary. Exits 1 if
// any target was missed or a benchmark crashed; it always runs them all.
//   node scripts/bench-all.js [startup render send latency memory approved]   (default: all, in that order)
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, machineLine } from './bench-lib.js';

const ALL = ['startup', 'render', 'send', 'latency', 'memory', 'approved'];
const names = process.argv.slice(2).length ? process.argv.slice(2) : ALL;
for (const n of names) if (!ALL.includes(n)) throw new Error(`unknown benchmark "${n}" (have: ${ALL.join(', ')})`);

function run(name) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let text = '';
    const child = spawn(process.execPath, [join(ROOT, 'scripts', `bench-${name}.js`)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      text += d;
    });
    child.on('close', (code) => resolve({ name, code, text, s: (performance.now() - t0) / 1000 }));
  });
}

const results = [];
for (const name of names) {
  console.log(`\n======== bench:${name} ========`);
  results.push(await run(name));
}
console.log(`\n======== summary ========\n${machineLine()}`);
let failed = false;
for (const r of results) {
  const lines = r.text.split('\n').filter((l) => /^(PASS|FAIL) {2}/.test(l));
  if (r.code !== 0) failed = true;
  if (!lines.length) console.log(`FAIL  bench:${r.name}: no targets printed (exit ${r.code})`);
  for (const l of lines) console.log(l);
  console.log(`      (bench:${r.name}: exit ${r.code}, ${r.s.toFixed(0)} s)`);
}
console.log(failed ? '\nbench: FAIL (a target was missed; the figures above say by how much)' : '\nbench: PASS (all targets met)');
process.exitCode = failed ? 1 : 0;
