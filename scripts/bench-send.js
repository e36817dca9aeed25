#!/usr/bin/env node
// `npm run bench:send`: the tool's own overhead when sending.
// 2,000 letters to the sandbox with no latency at -c 16: wall time of the whole `canvas-letters
// send` process (start-up, CSV, validation, ledger, rendering, report) vs a bare fetch client
// POSTing the same letter bodies with nothing else; both are child processes (both pay Node
// start-up), the two sides alternate, median of REPEATS each. Target: tool / bare <= 1.5x.
// (The latency-bound send phase that this script used to measure at 100 ms is now in
// bench-latency.js, at 50 and 200 ms and -c 4, 16 and 64.)
// A benchmark, not a test: it prints figures and ratios; it exits 1 if a target is missed.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSandbox } from '../dist/sandbox/index.js';
import {
  BARE_CLIENT, CLIENT_ID, CLIENT_SECRET, fix, letterBodies, machineLine, median, removeDir, runNode, sandboxEnv,
  sendArgs, table, targets, tempDir, writeJuryCsv,
} from './bench-lib.js';

const N = 2000;
const C = 16;
const REPEATS = Number(process.env.BENCH_REPEATS ?? 7);
const TARGET = 1.5;

async function main() {
  console.log(machineLine());
  const t = targets('bench-send');
  const tmp = tempDir('bench-send');
  const sandbox = await startSandbox({ port: 0, latencyMs: 0, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  const env = sandboxEnv(sandbox);
  try {
    const csv = join(tmp, `letters-${N}.csv`);
    await writeJuryCsv(csv, N);
    let k = 0;
    // Where each run's wall time goes, from the sandbox's request start times (Date.now(), ms):
    // before the first letter (start-up, CSV, validation, token), the send phase, after the last.
    const phases = { tool: [], bare: [] };
    const phase = (side, { ms, startedAt }) => {
      const { startTimes } = sandbox.stats();
      const first = Math.min(...startTimes) - startedAt;
      const span = Math.max(...startTimes) - Math.min(...startTimes);
      phases[side].push({ first, span, after: ms - first - span });
      return ms;
    };
    const tool = async () => {
      sandbox.reset();
      const run = await runNode(sendArgs(csv, C, tmp, ++k), { env, cwd: tmp });
      if (sandbox.letters.length !== N) throw new Error(`send run ${k}: sandbox got ${sandbox.letters.length} letters, expected ${N}`);
      return phase('tool', run);
    };
    console.log(`\nTool overhead: ${N} letters (bundled jury-duty template), sandbox without latency, -c ${C}, ` +
      `median of ${REPEATS} (whole-process wall time, sides alternating)`);
    const toolMs = [await tool()];
    const size = sandbox.letters.reduce((a, l) => a + l.size, 0) / N;
    const bodies = join(tmp, 'bodies.json');
    writeFileSync(bodies, JSON.stringify(letterBodies(sandbox)));
    const bare = join(tmp, 'bare-client.mjs');
    writeFileSync(bare, BARE_CLIENT);
    const bareMs = [];
    for (let i = 0; i < REPEATS; i++) {
      sandbox.reset();
      bareMs.push(phase('bare', await runNode([bare, bodies, String(C)], { env, cwd: tmp })));
      if (sandbox.letters.length !== N) throw new Error(`bare client: sandbox got ${sandbox.letters.length} letters`);
      if (i < REPEATS - 1) toolMs.push(await tool());
    }
    const toolMed = median(toolMs);
    const bareMed = median(bareMs);
    const ratio = toolMed / bareMed;
    const runs = (xs) => xs.map((x) => Math.round(x)).join(' / ');
    table(['side', 'runs ms', 'median ms', 'letters/s'], [
      ['canvas-letters send', runs(toolMs), Math.round(toolMed), fix(N / (toolMed / 1000))],
      ['bare fetch client', runs(bareMs), Math.round(bareMed), fix(N / (bareMed / 1000))],
    ]);
    console.log(`letters of ${Math.round(size).toLocaleString('en-US')} bytes on average; ` +
      `extra time per letter: ${((toolMed - bareMed) / N).toFixed(3)} ms`);
    console.log('\nWhere the time goes (medians, ms; from the sandbox\'s request start times):');
    const med = (side, key) => Math.round(median(phases[side].map((x) => x[key])));
    table(['side', 'spawn to 1st letter', 'send phase', 'after last letter', 'send phase letters/s'], ['tool', 'bare'].map((side) => [
      side === 'tool' ? 'canvas-letters send' : 'bare fetch client', med(side, 'first'), med(side, 'span'), med(side, 'after'),
      fix(N / (median(phases[side].map((x) => x.span)) / 1000)),
    ]));
    console.log(`send phase: tool / bare = ${(median(phases.tool.map((x) => x.span)) / median(phases.bare.map((x) => x.span))).toFixed(2)}x; ` +
      `before the first letter: tool / bare = ${(median(phases.tool.map((x) => x.first)) / median(phases.bare.map((x) => x.first))).toFixed(2)}x`);
    const verdict = t.check(`tool overhead (send ${N} at -c ${C}, no latency)`, ratio <= TARGET,
      `tool / bare = ${ratio.toFixed(3)}x (target <= ${TARGET}x; ${Math.round(toolMed)} vs ${Math.round(bareMed)} ms)`);
    console.log(`\ntool / bare = ${ratio.toFixed(3)}x (target <= ${TARGET}x): ${verdict}`);
  } finally {
    await sandbox.close();
    removeDir(tmp);
  }
  t.summary();
}

main().catch((error) => {
  console.error(`bench-send crashed: ${error?.stack ?? error}`);
  process.exitCode = 1;
});
