// Shared helpers of the benchmark scripts (scripts/bench-*.js): table printing, the machine line,
// the invented jury-duty CSV, child processes timed (wall time, peak RSS), the bare fetch client,
// and PASS/FAIL target lines. Benchmarks are not tests: they print figures and ratios, and exit 1
// when a target is missed so that people notice.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');
export const TEMPLATES = join(ROOT, 'templates');
export const CLIENT_ID = 'bench-client';
export const CLIENT_SECRET = 'bench-secret';

// ---------------------------------------------------------------------------------------------
// Numbers and tables

export const fix = (x, d = 1) => Number(x.toFixed(d));
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export const pct = (x) => `${(x * 100).toFixed(1)} %`;
export const fmt = (n) => Math.round(n).toLocaleString('en-US');
/** kB (KiB, as /usr/bin/time and /proc report them) to MB (10^6 bytes, the strict reading of a MB target). */
export const mb = (kb) => fix((kb * 1024) / 1e6, 1);

/** Print rows (arrays of cells) under a header, columns padded; numbers right-aligned. */
export function table(header, rows) {
  const cells = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r, raw) =>
    r.map((c, i) => (typeof raw[i] === 'number' ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  console.log(line(cells[0], header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  cells.slice(1).forEach((r, k) => console.log(line(r, rows[k])));
}

/** cpu model, cores, memory, node version, OS: the first line of every benchmark. */
export function machineLine() {
  const cpus = os.cpus();
  return `machine: ${cpus[0]?.model ?? 'unknown cpu'}, ${cpus.length} cores (${os.availableParallelism()} available), ` +
    `${fix(os.totalmem() / 2 ** 30, 1)} GiB memory, node ${process.version}, ${os.platform()} ${os.release()}`;
}

/**
 * The PASS/FAIL lines of one benchmark. `check(name, ok, detail)` prints
 * `PASS  <name>: <detail>` (or FAIL) now and again in `summary()`; `summary()` sets the exit code.
 * bench-all.js collects these lines from every benchmark.
 */
export function targets(bench) {
  const results = [];
  return {
    check(name, ok, detail) {
      results.push({ name, ok, detail });
      return ok ? 'PASS' : 'FAIL';
    },
    get failed() {
      return results.some((r) => !r.ok);
    },
    summary() {
      console.log(`\n${bench} targets:`);
      for (const r of results) console.log(`${r.ok ? 'PASS' : 'FAIL'}  ${r.name}: ${r.detail}`);
      const failed = results.some((r) => !r.ok);
      console.log(failed ? `${bench}: FAIL (a target was missed)` : `${bench}: PASS (all targets met)`);
      if (failed) process.exitCode = 1;
    },
  };
}

export function tempDir(prefix) {
  return mkdtempSync(join(os.tmpdir(), `${prefix}-`));
}
export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// The invented jury-duty CSV (columns as samples/jury-duty.csv), streamed: never held in memory.

export const JURY_HEADER = [
  'patientKey', 'providerKey', 'practiceLocationKey', 'patientName', 'dateOfBirth', 'summonsDate', 'courtName',
  'jurorNumber', 'excuseReason', 'excuseUntil', 'practiceName', 'practiceAddress', 'practicePhone', 'providerName',
  'providerCredentials',
];

const hex = (s, n) => createHash('sha256').update(s).digest('hex').slice(0, n);
const PROVIDERS = [
  { key: hex('provider-1', 32), name: 'Test Provider One', credentials: 'MD' },
  { key: hex('provider-2', 32), name: 'Test Provider Two', credentials: 'DO' },
  { key: hex('provider-3', 32), name: 'Test Provider Three', credentials: '"MD, MPH"' },
];
const uuid = (s) => { const h = hex(s, 32); return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`; };
const LOCATIONS = [
  { key: uuid('location-1'), address: '"100 Example Street, Suite 1, Springfield, OR 97477"', phone: '(555) 555-0101' },
  { key: uuid('location-2'), address: '"200 Sample Avenue, Eugene, OR 97401"', phone: '(555) 555-0102' },
];
const COURTS = ['Test County Circuit Court', '"Test District Court, District of Nowhere"', ''];
const REASONS = ['recovery from surgery', 'a chronic back condition that prevents sitting for long periods', ''];
const PATIENT_PREFIX = hex('bench-patients', 20);
const pad2 = (x) => String(x).padStart(2, '0');

/** Data row i (1-based) of the invented CSV: distinct 32-hex patient keys, a few providers and locations. */
export function juryRow(i) {
  const p = PROVIDERS[i % PROVIDERS.length];
  const l = LOCATIONS[i % LOCATIONS.length];
  return [
    PATIENT_PREFIX + i.toString(16).padStart(12, '0'), p.key, l.key, `Test Patient ${i}`,
    `${1940 + (i % 60)}-${pad2(1 + (i % 12))}-${pad2(1 + (i % 28))}`, `2026-12-${pad2(1 + (i % 28))}`,
    COURTS[i % COURTS.length], i % 4 === 0 ? '' : `J-2026-${String(i).padStart(6, '0')}`, REASONS[i % REASONS.length],
    `2027-${pad2(1 + (i % 12))}-${pad2(1 + (i % 28))}`, 'Test Family Medicine', l.address, l.phone, p.name, p.credentials,
  ].join(',');
}

/** Write the invented CSV of n rows to file, in chunks, honouring backpressure. Resolves the byte count. */
export function writeJuryCsv(file, n) {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(file, { mode: 0o600 });
    out.on('error', reject);
    let i = 1;
    let bytes = 0;
    const put = (s) => { bytes += Buffer.byteLength(s); return out.write(s); };
    const pump = () => {
      if (i === 1) put(JURY_HEADER.join(',') + '\n');
      while (i <= n) {
        const lines = [];
        for (const end = Math.min(n, i + 999); i <= end; i++) lines.push(juryRow(i));
        if (!put(lines.join('\n') + '\n')) return void out.once('drain', pump);
      }
      out.end(() => resolve(bytes));
    };
    pump();
  });
}

// ---------------------------------------------------------------------------------------------
// Child processes: async (the sandbox may run in this process), wall time and peak RSS.

const TIME_BIN = '/usr/bin/time';

/**
 * Run `node <args>` as a child and resolve { ms, rssKb, out, code, startedAt }. ms is the wall
 * time from spawn to exit; startedAt is Date.now() at spawn. With { rss: true } the child's peak RSS (kB) is measured by /usr/bin/time -f %M
 * (GNU time, wrapping node: the child only, never this process), or else by polling its
 * /proc/<pid>/status VmHWM. Rejects on a non-zero exit unless { allowFail: true }.
 */
export function runNode(args, { env = process.env, cwd = ROOT, rss = false, allowFail = false } = {}) {
  return new Promise((resolve, reject) => {
    const useTime = rss && existsSync(TIME_BIN);
    const rssFile = useTime ? join(os.tmpdir(), `bench-rss-${process.pid}-${Math.random().toString(36).slice(2)}`) : undefined;
    const [cmd, argv] = useTime
      ? [TIME_BIN, ['-f', '%M', '-o', rssFile, process.execPath, ...args]]
      : [process.execPath, args];
    const startedAt = Date.now(); // the clock of the sandbox's startTimes
    const t0 = performance.now();
    let exitedAt = 0;
    let out = '';
    let hwm = 0;
    const child = spawn(cmd, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => (out = (out + d).slice(-20000)));
    child.stderr.on('data', (d) => (out = (out + d).slice(-20000)));
    let poll;
    if (rss && !useTime) {
      const read = () => {
        try {
          const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (m) hwm = Math.max(hwm, Number(m[1]));
        } catch { /* gone */ }
      };
      poll = setInterval(read, 20);
    }
    child.on('exit', () => (exitedAt = performance.now()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(poll);
      let rssKb = hwm || undefined;
      if (rssFile) {
        try {
          rssKb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
        } catch { /* none */ }
        rmSync(rssFile, { force: true });
      }
      const result = { ms: exitedAt - t0, rssKb, out, code, startedAt };
      if (code === 0 || allowFail) resolve(result);
      else reject(new Error(`node ${args.join(' ')} exited ${code}:\n${out.slice(-2000)}`));
    });
  });
}

/** The environment pointing `send` (or the bare client) at a sandbox. */
export function sandboxEnv(sandbox) {
  const env = { ...process.env, CANVAS_BASE_URL: sandbox.url, CANVAS_CLIENT_ID: CLIENT_ID, CANVAS_CLIENT_SECRET: CLIENT_SECRET };
  delete env.CANVAS_ACCESS_TOKEN;
  delete env.CANVAS_FHIR_BASE_URL;
  return env;
}

/**
 * Node flags for the canvas-letters runs of the benchmarks (never the bare client, never the
 * start-up runs), for looking into a miss without editing the scripts:
 *   BENCH_NODE_FLAGS="--max-old-space-size=96"   extra node flags, space-separated
 *   BENCH_CPU_PROF=<dir>                          --cpu-prof into <dir> (summarise with bench-profile.js)
 */
export function toolFlags() {
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  if (process.env.BENCH_CPU_PROF) flags.push('--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`);
  return flags;
}

/** The arguments of `canvas-letters send` for a bench run: jury-duty, --yes, its own ledger and out. */
export function sendArgs(csv, c, dir, k, templatesDir = TEMPLATES) {
  return [...toolFlags(), CLI, 'send', csv, '--templates-dir', templatesDir, '-t', 'jury-duty', '--yes', '-c', String(c),
    '--ledger', join(dir, `ledger-${k}.db`), '-o', join(dir, `out-${k}`)];
}

/**
 * The bare client: one token, then the bodies of a JSON file POSTed with fetch at concurrency c,
 * nothing else (no CSV, no templates, no ledger, no report). It is what the sandbox and the machine
 * can do at all. Usage: node bare-client.mjs <bodies.json> <c>
 */
export const BARE_CLIENT = `
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

/** The letters the sandbox received, as the bodies the bare client posts. */
export function letterBodies(sandbox) {
  return sandbox.letters.map(({ patientKey, providerKey, practiceLocationKey, content }) =>
    ({ patientKey, providerKey, practiceLocationKey, content }));
}

/**
 * The send-phase rate from the sandbox's Letter request start times:
 * letters / (last start - first start + latency), in letters per second.
 */
export function sendPhase(sandbox, latencyMs) {
  const { startTimes, maxInFlight } = sandbox.stats();
  let lo = Infinity;
  let hi = -Infinity;
  for (const t of startTimes) { if (t < lo) lo = t; if (t > hi) hi = t; }
  const spanMs = hi - lo + latencyMs;
  return { letters: startTimes.length, spanMs, rate: startTimes.length / (spanMs / 1000), maxInFlight };
}
