#!/usr/bin/env node
// `npm run bench:send`: how fast `canvas-letters send` creates letters against the local sandbox.
//  1. Latency-bound send phase: 100 ms per Letter request, 400 letters; the send-phase rate
//     (from the sandbox's request start times) vs the ideal concurrency / latency.
//  2. Tool overhead: no latency, 2,000 letters at -c 16; wall time of the CLI process vs a bare
//     fetch client POSTing the same bodies, both as child processes (both pay Node start-up).
// A benchmark, not a test: it prints figures and ratios; it exits 1 if a target is missed.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes, randomUUID } from 'node:crypto';
import { startSandbox } from '../dist/sandbox/index.js';

/** Print rows (arrays of cells) under a header, columns padded; numbers right-aligned. */
function table(header, rows) {
  const cells = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r, raw) =>
    r.map((c, i) => (typeof raw[i] === 'number' ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  console.log(line(cells[0], header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  cells.slice(1).forEach((r, k) => console.log(line(r, rows[k])));
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.js');
const CLIENT_ID = 'bench-client';
const CLIENT_SECRET = 'bench-secret';
const LATENCY_MS = 100;
const LATENCY_N = 400;
const OVERHEAD_N = 2000;
const OVERHEAD_C = 16;
const REPEATS = 3;
const RATE_TARGET = 0.9;
const OVERHEAD_TARGET = 1.5;

const fix = (x, d = 1) => Number(x.toFixed(d));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (x) => `${(x * 100).toFixed(1)} %`;

const HEADER =
  'patientKey,providerKey,practiceLocationKey,patientName,dateOfBirth,summonsDate,courtName,jurorNumber,excuseReason,' +
  'excuseUntil,practiceName,practiceAddress,practicePhone,providerName,providerCredentials';

/** An invented jury-duty CSV of n rows (distinct patients, one provider and location). */
function writeCsv(file, n) {
  const provider = randomBytes(16).toString('hex');
  const location = randomUUID();
  const pad = (x) => String(x).padStart(2, '0');
  const lines = [HEADER];
  for (let i = 1; i <= n; i++) {
    lines.push([
      randomBytes(16).toString('hex'), provider, location, `Test Patient ${i}`,
      `${1940 + (i % 60)}-${pad(1 + (i % 12))}-${pad(1 + (i % 28))}`, `2026-12-${pad(1 + (i % 28))}`,
      'Lane County Circuit Court', `J-2026-${String(i).padStart(5, '0')}`, 'recovery from surgery',
      `2027-${pad(1 + (i % 12))}-${pad(1 + (i % 28))}`, 'Maple Grove Family Medicine',
      '"1450 Alder Street, Suite 210, Springfield, OR 97477"', '(541) 555-0142', 'Elena Vasquez', 'MD',
    ].join(','));
  }
  writeFileSync(file, lines.join('\n') + '\n');
}

/** The bare client: one token, then the bodies POSTed with fetch at concurrency c, nothing else. */
const BARE_CLIENT = `
import { readFileSync } from 'node:fs';
const base = process.env.CANVAS_BASE_URL;
const [file, c] = process.argv.slice(2);
const bodies = JSON.parse(readFileSync(file, 'utf8'));
const t = await fetch(base + '/auth/token/', {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ grant_type: 'client_credentials', client_id: process.env.CANVAS_CLIENT_ID, client_secret: process.env.CANVAS_CLIENT_SECRET }),
});
const { access_token } = await t.json();
const url = base + '/core/api/letter/v1/Letter';
let next = 0, failed = 0;
async function worker() {
  while (next < bodies.length) {
    const body = JSON.stringify(bodies[next++]);
    const r = await fetch(url, { method: 'POST', headers: { authorization: 'Bearer ' + access_token, 'content-type': 'application/json' }, body });
    await r.arrayBuffer();
    if (r.status !== 201) failed++;
  }
}
await Promise.all(Array.from({ length: Number(c) }, worker));
if (failed) { console.error(failed + ' letters failed'); process.exit(1); }
`;

/** Spawn node with args (async: the sandbox lives in this process); resolve the wall time in ms. */
function run(args, env, cwd) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let exitedAt = 0;
    let out = '';
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', () => (exitedAt = performance.now()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(exitedAt - t0);
      else reject(new Error(`node ${args.join(' ')} exited ${code}:\n${out.slice(-2000)}`));
    });
  });
}

async function main() {
  const cpus = os.cpus();
  console.log(`machine: ${cpus[0]?.model ?? 'unknown cpu'}, ${cpus.length} cores (${os.availableParallelism()} available), ` +
    `node ${process.version}, ${os.platform()} ${os.release()}`);
  const tmp = mkdtempSync(join(os.tmpdir(), 'bench-send-'));
  const sandbox = await startSandbox({ port: 0, latencyMs: LATENCY_MS, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  const env = { ...process.env, CANVAS_BASE_URL: sandbox.url, CANVAS_CLIENT_ID: CLIENT_ID, CANVAS_CLIENT_SECRET: CLIENT_SECRET };
  delete env.CANVAS_ACCESS_TOKEN;
  let runs = 0;
  const sendTool = async (csv, c, n) => {
    sandbox.reset();
    const k = ++runs;
    const ms = await run([cli, 'send', csv, '--templates-dir', join(root, 'templates'), '-t', 'jury-duty', '--yes',
      '-c', String(c), '--ledger', join(tmp, `ledger-${k}.db`), '-o', join(tmp, `out-${k}`)], env, tmp);
    if (sandbox.letters.length !== n) throw new Error(`run ${k}: sandbox got ${sandbox.letters.length} letters, expected ${n}`);
    return ms;
  };
  let failed = false;
  try {
    // 1. Latency-bound send phase.
    const csv400 = join(tmp, `letters-${LATENCY_N}.csv`);
    writeCsv(csv400, LATENCY_N);
    console.log(`\n1. Latency-bound send phase: ${LATENCY_N} letters, sandbox latency ${LATENCY_MS} ms`);
    console.log('   rate = letters / (last start - first start + latency); ideal = c / latency');
    const rows = [];
    for (const c of [8, 4, 16]) {
      const wall = await sendTool(csv400, c, LATENCY_N);
      const { startTimes, maxInFlight } = sandbox.stats();
      const span = Math.max(...startTimes) - Math.min(...startTimes) + LATENCY_MS;
      const rate = LATENCY_N / (span / 1000);
      const ideal = c / (LATENCY_MS / 1000);
      const target = c === 8 ? (rate / ideal >= RATE_TARGET ? 'PASS' : 'FAIL') : '(info)';
      if (target === 'FAIL') failed = true;
      rows.push([`-c ${c}`, maxInFlight, span, fix(rate), fix(ideal), pct(rate / ideal), fix(wall / 1000, 2), target]);
    }
    table(['run', 'max in flight', 'send span ms', 'letters/s', 'ideal/s', 'ratio', 'process s', `>= ${pct(RATE_TARGET)}`], rows);

    // 2. Tool overhead vs a bare fetch client.
    sandbox.setFaults({ latencyMs: 0 });
    const csv2k = join(tmp, `letters-${OVERHEAD_N}.csv`);
    writeCsv(csv2k, OVERHEAD_N);
    console.log(`\n2. Tool overhead: ${OVERHEAD_N} letters, no latency, concurrency ${OVERHEAD_C}, median of ${REPEATS} (process wall time)`);
    const toolMs = [await sendTool(csv2k, OVERHEAD_C, OVERHEAD_N)];
    const bodiesFile = join(tmp, 'bodies.json');
    writeFileSync(bodiesFile, JSON.stringify(sandbox.letters.map(({ patientKey, providerKey, practiceLocationKey, content }) =>
      ({ patientKey, providerKey, practiceLocationKey, content }))));
    const bareScript = join(tmp, 'bare-client.mjs');
    writeFileSync(bareScript, BARE_CLIENT);
    const bareMs = [];
    for (let i = 0; i < REPEATS; i++) { // alternate the two sides so drift hits both alike
      sandbox.reset();
      bareMs.push(await run([bareScript, bodiesFile, String(OVERHEAD_C)], env, tmp));
      if (sandbox.letters.length !== OVERHEAD_N) throw new Error(`bare client: sandbox got ${sandbox.letters.length} letters`);
      if (i < REPEATS - 1) toolMs.push(await sendTool(csv2k, OVERHEAD_C, OVERHEAD_N));
    }
    const tool = median(toolMs);
    const bare = median(bareMs);
    const ratio = tool / bare;
    const verdict = ratio <= OVERHEAD_TARGET ? 'PASS' : 'FAIL';
    if (verdict === 'FAIL') failed = true;
    const ms = (xs) => xs.map((x) => Math.round(x)).join(' / ');
    table(['side', 'runs ms', 'median ms', 'letters/s'], [
      ['canvas-letters send', ms(toolMs), Math.round(tool), fix(OVERHEAD_N / (tool / 1000))],
      ['bare fetch client', ms(bareMs), Math.round(bare), fix(OVERHEAD_N / (bare / 1000))],
    ]);
    console.log(`tool / bare = ${ratio.toFixed(2)}x (target <= ${OVERHEAD_TARGET}x): ${verdict}`);
  } finally {
    await sandbox.close();
    rmSync(tmp, { recursive: true, force: true });
  }
  console.log(failed ? '\nFAIL: a target was missed' : '\nPASS: all targets met');
  process.exitCode = failed ? 1 : 0;
}

main().catch((error) => {
  console.error(`bench-send crashed: ${error?.stack ?? error}`);
  process.exitCode = 1;
});
