#!/usr/bin/env node
// Summarise V8 CPU profiles (node --cpu-prof) of canvas-letters runs: self time per function and
// per file or package, optionally only while a given function is on the stack (its first to last
// sample: --window), e.g. the send phase, or only before it first is (--before):
//   BENCH_CPU_PROF=/tmp/prof node scripts/bench-send.js
//   node scripts/bench-profile.js /tmp/prof [--top 25] [--window createLetter | --before createLetter]
// A directory means every .cpuprofile in it, summed. Sampled wall time of the main thread:
// time blocked in a native call (an fsync in SQLite) counts against the JS function that made it.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { table } from './bench-lib.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' }, window: { type: 'string' }, before: { type: 'string' } },
});
if (!positionals.length) {
  console.error('usage: node scripts/bench-profile.js <dir|file.cpuprofile>... [--top n] [--window functionName]');
  process.exit(2);
}
const files = positionals.flatMap((p) =>
  statSync(p).isDirectory() ? readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(p, f)) : [p]);

const self = new Map();
const byFile = new Map();
let total = 0;
let windowMs = 0;
const add = (map, key, us) => map.set(key, (map.get(key) ?? 0) + us);
const where = (url) =>
  url.replace(/^file:\/\/.*?\/node_modules\//, 'node_modules/').replace(/^file:\/\/.*?\/(dist|scripts)\//, '$1/');
const pkgOf = (url) => {
  const w = where(url);
  if (w.startsWith('node_modules/')) return w.split('/').slice(0, w.split('/')[1].startsWith('@') ? 3 : 2).join('/');
  return w || '(native / VM)';
};

for (const file of files) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  let t = p.startTime;
  const ts = p.timeDeltas.map((d) => (t += d));
  let lo = -Infinity;
  let hi = Infinity;
  const fn = values.window ?? values.before;
  if (fn) {
    lo = Infinity;
    hi = -Infinity;
    p.samples.forEach((id, i) => {
      for (let x = id; x !== undefined; x = parent.get(x)) {
        if (byId.get(x).callFrame.functionName === fn) {
          lo = Math.min(lo, ts[i]);
          hi = Math.max(hi, ts[i]);
          break;
        }
      }
    });
    if (lo > hi) continue;
    if (values.before) [lo, hi] = [-Infinity, lo]; // from the start to the first sample of fn
    windowMs += (hi - (values.before ? p.startTime : lo)) / 1000;
  }
  p.samples.forEach((id, i) => {
    if (ts[i] < lo || ts[i] > hi) return;
    const us = p.timeDeltas[i] ?? 0;
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    total += us;
    add(self, `${functionName || '(anonymous)'}  ${where(url)}${url ? `:${lineNumber + 1}` : ''}`, us);
    add(byFile, url ? pkgOf(url) : functionName || '(anonymous)', us);
  });
}

const top = Number(values.top);
const rows = (map) => [...map].sort((a, b) => b[1] - a[1]).slice(0, top)
  .map(([k, us]) => [Number((us / 1000).toFixed(1)), `${((100 * us) / total).toFixed(1)} %`, k]);
console.log(`${files.length} profile(s), ${(total / 1000).toFixed(0)} ms sampled` +
  (values.window ? ` while ${values.window} was running (${windowMs.toFixed(0)} ms of wall time)` : '') +
  (values.before ? ` before ${values.before} first ran (${windowMs.toFixed(0)} ms of wall time)` : ''));
console.log('\nself time by function');
table(['ms', 'share', 'function  file:line'], rows(self));
console.log('\nself time by file or package');
table(['ms', 'share', 'file or package'], rows(byFile));
