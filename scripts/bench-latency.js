#!/usr/bin/env node
// `npm run bench:latency`: the latency-bound send phase. With a sandbox that waits `latency` ms
// before answering each Letter request, `send` at concurrency c can at best start c letters per
// latency: c / latency letters per second. The send-phase rate is measured from the sandbox's
// request start times: letters / (last start - first start + latency), so CSV reading,
// validation and process start-up are left out. n = max(10 c, 200) letters per run, rounded up
// to whole rounds of c so that a perfect client scores 100 % (at least 10 rounds), median of
// REPEATS runs. Target: >= 95 % of c / latency.
// A bare fetch client (the same letter bodies, nothing else) runs at the same latency and
// concurrency (c = 64, and by default also 4 and 16; BENCH_BARE_AT=64 for that one only): the
// ceiling of the sandbox and this machine. The tool's share of it says whether a miss is the
// tool's or the machine's.
// A benchmark, not a test: it prints figures and ratios; it exits 1 if a target is missed.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSandbox } from '../dist/sandbox/index.js';
import {
  BARE_CLIENT, CLIENT_ID, CLIENT_SECRET, fix, letterBodies, machineLine, median, pct, removeDir, runNode,
  sandboxEnv, sendArgs, sendPhase, table, targets, tempDir, writeJuryCsv,
} from './bench-lib.js';

const list = (value, fallback) => (value ? value.split(',').map(Number) : fallback);
// BENCH_LATENCIES=100 BENCH_CONCURRENCIES=8 BENCH_TARGET=0.9: the send issue's own target.
const LATENCIES = list(process.env.BENCH_LATENCIES, [50, 200]);
const CONCURRENCIES = list(process.env.BENCH_CONCURRENCIES, [4, 16, 64]);
const BARE_AT = new Set((process.env.BENCH_BARE_AT ?? '4,16,64').split(',').map(Number)); // 64 is the one asked for; the others help attribute a miss
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const TARGET = Number(process.env.BENCH_TARGET ?? 0.95);

async function main() {
  console.log(machineLine());
  const t = targets('bench-latency');
  const tmp = tempDir('bench-latency');
  const sandbox = await startSandbox({ port: 0, latencyMs: 0, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  const env = sandboxEnv(sandbox);
  const bare = join(tmp, 'bare-client.mjs');
  writeFileSync(bare, BARE_CLIENT);
  let k = 0;
  try {
    console.log(`\nLatency-bound send phase: n = max(10 c, 200) letters rounded up to whole rounds of c (bundled jury-duty template), median of ${REPEATS} runs`);
    console.log('rate = letters / (last start - first start + latency); ideal = c / latency; bare = a fetch-only client, same bodies;');
    const rows = [];
    for (const latency of LATENCIES) {
      sandbox.setFaults({ latencyMs: latency });
      for (const c of CONCURRENCIES) {
        const n = Math.ceil(Math.max(10 * c, 200) / c) * c;
        const csv = join(tmp, `letters-${n}.csv`);
        await writeJuryCsv(csv, n);
        const ideal = c / (latency / 1000);
        const tool = [];
        const bareRuns = [];
        let bodies;
        for (let r = 0; r < REPEATS; r++) { // tool and bare client alternate, so drift hits both alike
          sandbox.reset();
          await runNode(sendArgs(csv, c, tmp, ++k), { env, cwd: tmp });
          if (sandbox.letters.length !== n) throw new Error(`run ${k}: sandbox got ${sandbox.letters.length} letters, expected ${n}`);
          tool.push(sendPhase(sandbox, latency));
          if (!BARE_AT.has(c)) continue;
          if (!bodies) {
            bodies = join(tmp, `bodies-${n}.json`);
            writeFileSync(bodies, JSON.stringify(letterBodies(sandbox)));
          }
          sandbox.reset();
          await runNode([bare, bodies, String(c)], { env, cwd: tmp });
          if (sandbox.letters.length !== n) throw new Error(`bare client: sandbox got ${sandbox.letters.length} letters`);
          bareRuns.push(sendPhase(sandbox, latency));
        }
        const rate = median(tool.map((x) => x.rate));
        const span = median(tool.map((x) => x.spanMs));
        const inFlight = Math.max(...tool.map((x) => x.maxInFlight));
        let bareRate;
        if (bareRuns.length) {
          bareRate = median(bareRuns.map((x) => x.rate));
          rows.push([`${latency} ms`, `-c ${c} bare`, n, Math.max(...bareRuns.map((x) => x.maxInFlight)),
            Math.round(median(bareRuns.map((x) => x.spanMs))), fix(bareRate), fix(ideal), pct(bareRate / ideal), '', '(ceiling)']);
        }
        const verdict = t.check(`latency-bound send, ${latency} ms, -c ${c}`, rate / ideal >= TARGET,
          `${fix(rate)} letters/s = ${pct(rate / ideal)} of ${fix(ideal)} (target >= ${pct(TARGET)})` +
          (bareRate ? `; bare client ${pct(bareRate / ideal)}, tool = ${pct(rate / bareRate)} of bare` : ''));
        rows.push([`${latency} ms`, `-c ${c}`, n, inFlight, Math.round(span), fix(rate), fix(ideal), pct(rate / ideal),
          bareRate ? pct(rate / bareRate) : '', verdict]);
      }
    }
    table(['latency', 'run', 'letters', 'max in flight', 'span ms', 'letters/s', 'ideal/s', 'of ideal', 'tool / bare', `>= ${pct(TARGET)}`], rows);
  } finally {
    await sandbox.close();
    removeDir(tmp);
  }
  t.summary();
}

main().catch((error) => {
  console.error(`bench-latency crashed: ${error?.stack ?? error}`);
  process.exitCode = 1;
});
