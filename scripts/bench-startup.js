#!/usr/bin/env node
// `npm run bench:startup`: how long `canvas-letters --help` takes, as a whole process (spawn to
// exit), median of RUNS after one warm-up run (file cache). For comparison: `--version`,
// `send --help`, and bare `node -e 0` (Node's own start-up, which no CLI can go below).
// Target: `--help` median <= 300 ms.
// A benchmark, not a test: it prints figures and ratios; it exits 1 if a target is missed.
import { CLI, machineLine, median, runNode, table, targets } from './bench-lib.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const TARGET_MS = 300;

async function time(args) {
  await runNode(args); // warm-up
  const ms = [];
  for (let i = 0; i < RUNS; i++) ms.push((await runNode(args)).ms);
  return ms;
}

async function main() {
  console.log(machineLine());
  const t = targets('bench-startup');
  console.log(`\nStart-up: whole-process wall time, median of ${RUNS} (after one warm-up run)`);
  const cases = [
    ['canvas-letters --help', [CLI, '--help']],
    ['canvas-letters --version', [CLI, '--version']],
    ['canvas-letters send --help', [CLI, 'send', '--help']],
    ['node -e 0 (Node alone)', ['-e', '0']],
  ];
  const results = [];
  for (const [name, args] of cases) results.push([name, await time(args)]);
  const node = median(results[3][1]);
  const rows = results.map(([name, ms]) => {
    const m = median(ms);
    return [name, Math.round(Math.min(...ms)), Math.round(m), Math.round(Math.max(...ms)), `${(m / node).toFixed(2)}x`, Math.round(m - node)];
  });
  table(['command', 'min ms', 'median ms', 'max ms', 'vs node -e 0', 'above node ms'], rows);
  const help = median(results[0][1]);
  const verdict = t.check('start-up (canvas-letters --help)', help <= TARGET_MS,
    `median ${Math.round(help)} ms = ${((help / TARGET_MS) * 100).toFixed(0)} % of the ${TARGET_MS} ms target ` +
    `(${(help / node).toFixed(2)}x bare node start-up)`);
  console.log(`--help: ${Math.round(help)} ms (target <= ${TARGET_MS} ms): ${verdict}`);
  t.summary();
}

main().catch((error) => {
  console.error(`bench-startup crashed: ${error?.stack ?? error}`);
  process.exitCode = 1;
});
