#!/usr/bin/env node
// `npm run bench:approved`: what approval and the changed-letter check cost (issue 15).
// 2,000 jury-duty letters to the sandbox with no latency at -c 16, whole-process wall time, median
// of REPEATS, each step of a round in its own fresh folders:
//   plain send (fresh ledger) · plain rerun (every row already sent, so each is rendered again at
//   its recorded date and compared) · preview with letter files · approve · send --approved (fresh
//   ledger: every file re-hashed, then read and sent as it is) · its rerun (sha256 compared only).
// Targets: send --approved / plain send <= 1.25x; a rerun that sends nothing <= 0.6x the send.
// A benchmark, not a test: it prints figures and ratios; it exits 1 if a target is missed.
import { join } from 'node:path';
import { startSandbox } from '../dist/sandbox/index.js';
import { CLI, CLIENT_ID, CLIENT_SECRET, TEMPLATES, fix, fmt, machineLine, median, removeDir, runNode, sandboxEnv, sendArgs, table, targets, tempDir, toolFlags, writeJuryCsv } from './bench-lib.js';

const N = 2000;
const C = 16;
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const STEPS = ['plain send', 'plain rerun', 'preview', 'approve', 'send --approved', 'approved rerun'];

/** One round of every step; returns ms by step. */
async function round(sandbox, env, csv, tmp, k) {
  const ms = {};
  const expectLetters = (step, n) => {
    if (sandbox.letters.length !== n) throw new Error(`${step} (round ${k}): the sandbox holds ${sandbox.letters.length} letters, expected ${n}`);
  };
  const cli = (args) => runNode([...toolFlags(), CLI, ...args], { env, cwd: tmp });
  const review = join(tmp, `review-${k}`);
  const approvedArgs = (ledger, out) => ['send', '--approved', review, '--yes', '-c', String(C), '--ledger', join(tmp, ledger), '-o', join(tmp, out)];

  sandbox.reset();
  ms['plain send'] = (await runNode(sendArgs(csv, C, tmp, k), { env, cwd: tmp })).ms;
  expectLetters('plain send', N);
  ms['plain rerun'] = (await runNode([...sendArgs(csv, C, tmp, k).slice(0, -1), join(tmp, `rerun-${k}`)], { env, cwd: tmp })).ms;
  expectLetters('plain rerun', N);
  ms.preview = (await cli(['preview', csv, '--templates-dir', TEMPLATES, '-t', 'jury-duty', '-o', review])).ms;
  ms.approve = (await cli(['approve', review, '--by', 'Bench Approver', '--yes', '--ledger', join(tmp, `none-${k}.db`)])).ms;
  sandbox.reset();
  ms['send --approved'] = (await cli(approvedArgs(`approved-${k}.db`, `sent-${k}`))).ms;
  expectLetters('send --approved', N);
  ms['approved rerun'] = (await cli(approvedArgs(`approved-${k}.db`, `again-${k}`))).ms;
  expectLetters('approved rerun', N);
  return ms;
}

async function main() {
  console.log(machineLine());
  const t = targets('bench-approved');
  const tmp = tempDir('bench-approved');
  const sandbox = await startSandbox({ port: 0, latencyMs: 0, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  try {
    const csv = join(tmp, `letters-${N}.csv`);
    await writeJuryCsv(csv, N);
    const env = sandboxEnv(sandbox);
    const runs = [];
    for (let k = 1; k <= REPEATS; k++) runs.push(await round(sandbox, env, csv, tmp, k));
    const med = Object.fromEntries(STEPS.map((s) => [s, median(runs.map((r) => r[s]))]));
    const base = med['plain send'];
    console.log(`\nApproval and re-checks: ${N} letters (bundled jury-duty template), sandbox without latency, -c ${C}, median of ${REPEATS} (whole-process wall time)`);
    table(['step', 'median ms', 'letters/s', 'vs plain send'], STEPS.map((s) => [s, fmt(med[s]), fmt((N / med[s]) * 1000), `${fix(med[s] / base, 2)}x`]));
    const approvedRatio = med['send --approved'] / base;
    const rerunRatio = Math.max(med['plain rerun'], med['approved rerun']) / base;
    t.check('send --approved / plain send', approvedRatio <= 1.25, `${fix(approvedRatio, 2)}x (target <= 1.25x)`);
    t.check('a rerun that sends nothing / the send', rerunRatio <= 0.6, `${fix(rerunRatio, 2)}x, the slower of the two reruns (target <= 0.6x)`);
    t.summary();
  } finally {
    await sandbox.close();
    removeDir(tmp);
  }
}

await main();
