#!/usr/bin/env node
// `npm run bench:memory`: peak RSS of the whole canvas-letters process for large CSV files.
// Invented jury-duty CSVs of 25,000 and 100,000 rows (scripts/generate-rows.js) go through
// `preview --no-files` and through `send` to the sandbox (no latency, -c 16, bundled jury-duty
// template). The peak RSS is the child's only (/usr/bin/time -f %M around node, or its
// /proc/<pid>/status VmHWM): the sandbox runs in this process and is not counted; it also forgets
// received letters as they arrive (they are counted, not kept) so this process stays small.
// A 1,000-row run of each gives the fixed cost (Node, modules, templates) for the growth figures.
// Targets: peak RSS <= 200 MB (10^6 bytes), and RSS(100k) / RSS(25k) < 4 (the row ratio): less than linear.
// A benchmark, not a test: it prints figures and ratios; it exits 1 if a target is missed.
import { join } from 'node:path';
import { startSandbox } from '../dist/sandbox/index.js';
import {
  CLI, CLIENT_ID, CLIENT_SECRET, TEMPLATES, fix, machineLine, mb, removeDir, runNode, sandboxEnv, sendArgs, table,
  targets, tempDir, toolFlags, writeJuryCsv,
} from './bench-lib.js';

const BASE = 1_000;
const SIZES = (process.env.BENCH_MEMORY_ROWS ?? '25000,100000').split(',').map(Number);
const C = 16;
const LIMIT_MB = 200;

async function main() {
  console.log(machineLine());
  const t = targets('bench-memory');
  const tmp = tempDir('bench-memory');
  const sandbox = await startSandbox({ port: 0, latencyMs: 0, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  const env = sandboxEnv(sandbox);
  let k = 0;
  try {
    const rowsList = [BASE, ...SIZES];
    const csvs = new Map();
    for (const n of rowsList) {
      const file = join(tmp, `rows-${n}.csv`);
      const bytes = await writeJuryCsv(file, n);
      csvs.set(n, { file, bytes });
    }
    console.log(`\nPeak RSS of the canvas-letters process (child only; the in-process sandbox is not counted)`);
    const results = { preview: new Map(), send: new Map() };
    const rows = [];
    for (const n of rowsList) {
      const { file, bytes } = csvs.get(n);
      const p = await runNode([...toolFlags(), CLI, 'preview', file, '--templates-dir', TEMPLATES, '-t', 'jury-duty', '--no-files', '-o', join(tmp, `preview-${++k}`)],
        { env, cwd: tmp, rss: true });
      results.preview.set(n, p.rssKb);
      rows.push(['preview --no-files', n, fix(bytes / 2 ** 20), mb(p.rssKb), fix(p.ms / 1000, 2), fmtRate(n, p.ms)]);

      sandbox.reset();
      // Count the letters, do not keep them: 100,000 letters of 10 KB would be 1 GB in this process.
      const drain = setInterval(() => sandbox.clearLetters(), 250);
      let s;
      try {
        s = await runNode(sendArgs(file, C, tmp, ++k), { env, cwd: tmp, rss: true });
      } finally {
        clearInterval(drain);
        sandbox.clearLetters();
      }
      const created = sandbox.stats().outcomes.ok;
      if (created !== n) throw new Error(`send of ${n} rows: the sandbox created ${created} letters`);
      results.send.set(n, s.rssKb);
      rows.push([`send -c ${C}`, n, fix(bytes / 2 ** 20), mb(s.rssKb), fix(s.ms / 1000, 2), fmtRate(n, s.ms)]);
    }
    rows.sort((a, b) => (a[0] === b[0] ? a[1] - b[1] : a[0] < b[0] ? -1 : 1));
    table(['command', 'rows', 'CSV MiB', 'peak RSS MB', 'wall s', 'rows/s'], rows);

    const [small, large] = [SIZES[0], SIZES[SIZES.length - 1]];
    const rowRatio = large / small;
    console.log(`\nGrowth from ${small.toLocaleString('en-US')} to ${large.toLocaleString('en-US')} rows (${rowRatio}x the rows):`);
    const growth = [];
    for (const [cmd, byRows] of Object.entries(results)) {
      const base = byRows.get(BASE);
      const a = byRows.get(small);
      const b = byRows.get(large);
      const ratio = b / a;
      const above = (b - base) / Math.max(1, a - base);
      const perRow = ((b - a) * 1024) / (large - small);
      growth.push([cmd, mb(base), mb(a), mb(b), `${ratio.toFixed(2)}x`, `${above.toFixed(2)}x`, fix(perRow, 0)]);
      for (const n of SIZES) {
        t.check(`memory, ${cmd}, ${n.toLocaleString('en-US')} rows`, (byRows.get(n) * 1024) / 1e6 <= LIMIT_MB,
          `peak RSS ${mb(byRows.get(n))} MB (target <= ${LIMIT_MB} MB)`);
      }
      t.check(`memory growth, ${cmd}`, ratio < rowRatio,
        `RSS(${large / 1000}k) / RSS(${small / 1000}k) = ${ratio.toFixed(2)}x vs ${rowRatio}x the rows (target < ${rowRatio}x); ` +
        `above the ${BASE.toLocaleString('en-US')}-row run: ${above.toFixed(2)}x, ${fix(perRow, 0)} bytes per extra row`);
    }
    table(['command', `RSS ${BASE / 1000}k MB`, `RSS ${small / 1000}k MB`, `RSS ${large / 1000}k MB`,
      `${large / 1000}k / ${small / 1000}k`, 'above 1k run', 'bytes / extra row'], growth);
    console.log(`(row ratio ${rowRatio}x: below it is less than linear; "above 1k run" subtracts the fixed cost of a 1,000-row run)`);
  } finally {
    await sandbox.close();
    removeDir(tmp);
  }
  t.summary();
}

const fmtRate = (n, ms) => Math.round(n / (ms / 1000));

main().catch((error) => {
  console.error(`bench-memory crashed: ${error?.stack ?? error}`);
  process.exitCode = 1;
});
