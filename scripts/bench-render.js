#!/usr/bin/env node
/**
 * `npm run bench:render`: render + CSS-inline throughput on one core (this process, one thread).
 *
 * 1. The target: a 3-4 KB letter with a ~30-rule stylesheet. The bundled jury-duty letter is
 *    ~10 KB because its signature is a 7 KB PNG data: URI, so a temporary templates folder holds
 *    a copy of it ("bench-letter") with a small signature PNG (drawn here) and four more rules
 *    (30 inlined selectors). Its rows are the invented jury-duty rows (scripts/generate-rows.js).
 *    Measured: LoadedTemplate.renderLetter, what preview and send call for every letter.
 *    Target: >= 5,000 letters/s.
 * 2. For each bundled template with a sample CSV (samples/<name>.csv), as before:
 *      per-letter  render the row with Handlebars, then inline the CSS into the letter with juice
 *                  (what renderLetter did for every letter before templates were inlined once,
 *                  and what it still does for a template marked "per-letter")
 *      once        LoadedTemplate.renderLetter of a template whose CSS was inlined when it was
 *                  loaded (see src/templates/once.ts): Handlebars only
 *    Both must give the same letters; the script checks that on every row before timing.
 *
 *   npm run bench:render [-- --seconds 2] [-- --template jury-duty]
 * A benchmark, not a test: it prints figures and ratios; it exits 1 if a target is missed.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { deflateSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { inlineCss, inlinedSelectors } from '../dist/templates/inline.js';
import { TemplateSet } from '../dist/templates/index.js';
import { JURY_HEADER, ROOT, TEMPLATES, fmt, juryRow, machineLine, removeDir, targets, tempDir } from './bench-lib.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '2' }, template: { type: 'string', multiple: true } },
});
const seconds = Number(values.seconds);
const TARGET = 5000;
const SIZE_RANGE = [3 * 1024, 4 * 1024];

/** Letters per second of `run` over `rows`, cycling, for about `seconds` (after a warm-up). */
function measure(run, rows) {
  for (let i = 0; i < 500; i++) run(rows[i % rows.length]);
  let letters = 0;
  const start = process.hrtime.bigint();
  const stop = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < stop) {
    for (let i = 0; i < 100; i++) run(rows[(letters + i) % rows.length]);
    letters += 100;
    now = process.hrtime.bigint();
  }
  return letters / (Number(now - start) / 1e9);
}

/** All CSS inlined into a template's letters: styles.css, <name>.css, the template's <style> blocks. */
function cssOf(dir, name) {
  return ['styles.css', `${name}.css`].filter((f) => existsSync(join(dir, f))).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
}
function styleBlocks(file) {
  return [...readFileSync(file, 'utf8').matchAll(/<style[^>]*>([\s\S]*?)<\/style>/gi)].map((m) => m[1]);
}

/** Measure one template over rows: both paths checked equal, then timed. */
function bench(set, dir, name, rows) {
  const template = set.get(name);
  const css = cssOf(dir, name);
  const perLetter = (row) => inlineCss(template.render(row), css);
  const once = (row) => template.renderLetter(row);
  for (const row of rows.slice(0, 50)) {
    if (perLetter(row) !== once(row)) throw new Error(`${name}: the two paths give different letters`);
  }
  const sizes = rows.map((row) => Buffer.byteLength(once(row)));
  const avg = sizes.reduce((a, b) => a + b, 0) / sizes.length;
  const image = /data:[^"]*/.exec(once(rows[0]))?.[0].length ?? 0;
  const selectors = inlinedSelectors([css, ...styleBlocks(template.file)].join('\n')).length;
  const a = measure(perLetter, rows);
  const b = measure(once, rows);
  return { template, avg, min: Math.min(...sizes), max: Math.max(...sizes), image, selectors, perLetter: a, once: b };
}

function print(name, r, rowsNote) {
  console.log(`\n${name}: inlining ${r.template.inlining}${r.template.inliningReason ? ` (${r.template.inliningReason})` : ''}`);
  console.log(`  letter ${fmt(r.avg)} bytes on average (${fmt(r.min)}-${fmt(r.max)}; ${fmt(r.avg - r.image)} without the ${fmt(r.image)}-byte ` +
    `signature data: URI), ${r.selectors} inlined selectors, ${rowsNote}`);
  console.log(`  per-letter : ${fmt(r.perLetter).padStart(7)} letters/s  (${(1e6 / r.perLetter).toFixed(1)} µs/letter)`);
  console.log(`  once       : ${fmt(r.once).padStart(7)} letters/s  (${(1e6 / r.once).toFixed(1)} µs/letter)`);
  console.log(`  ratio      : ${(r.once / r.perLetter).toFixed(1)}x`);
}

// --- a small signature PNG (150 x 40, 8-bit grey, a wavy stroke), drawn without dependencies
const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
function signaturePng(w = 150, h = 40) {
  const raw = Buffer.alloc((w + 1) * h, 255);
  for (let y = 0; y < h; y++) raw[y * (w + 1)] = 0; // filter: none
  for (let x = 5; x < w - 5; x++) {
    const y = Math.round(h / 2 + Math.sin(x / 9) * (h / 4) * Math.cos(x / 37));
    for (const dy of [0, 1]) raw[(y + dy) * (w + 1) + 1 + x] = 40;
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

const EXTRA_RULES = `
/* four more rules, for a ~30-rule stylesheet (bench only) */
.letterhead .practice-name { text-transform: none; }
.re .juror { letter-spacing: 0.01em; }
.body .closing { font-style: normal; }
.signature .practice { margin-top: 2px; }
`;

/** A templates folder whose "bench-letter" is jury-duty with a small signature and 30 rules. */
function benchTemplates(dir) {
  cpSync(TEMPLATES, dir, { recursive: true });
  writeFileSync(join(dir, 'images', 'signature.png'), signaturePng());
  writeFileSync(join(dir, 'bench-letter.hbs'), readFileSync(join(TEMPLATES, 'jury-duty.hbs')));
  writeFileSync(join(dir, 'bench-letter.css'), readFileSync(join(TEMPLATES, 'jury-duty.css'), 'utf8') + EXTRA_RULES);
  return dir;
}

function main() {
  console.log(machineLine());
  console.log(`${seconds}s per measurement, one core (this process, one thread)`);
  const t = targets('bench-render');
  const tmp = tempDir('bench-render');
  try {
    // 1. The target letter.
    const dir = benchTemplates(join(tmp, 'templates'));
    const set = TemplateSet.load(dir);
    const lines = Array.from({ length: 1000 }, (_, i) => juryRow(i + 1));
    const rows = parse([JURY_HEADER.join(','), ...lines].join('\n'), { columns: true });
    const r = bench(set, dir, 'bench-letter', rows);
    console.log(`\n1. Target: a 3-4 KB letter with a ~30-rule stylesheet (jury-duty with a ${fmt(r.image)}-byte signature data: URI), 1,000 invented rows`);
    print('bench-letter', r, '1,000 invented rows');
    if (r.avg < SIZE_RANGE[0] || r.avg > SIZE_RANGE[1]) throw new Error(`bench-letter is ${fmt(r.avg)} bytes, not 3-4 KB: adjust the bench template`);
    const verdict = t.check('render + inline, one core', r.once >= TARGET,
      `${fmt(r.once)} letters/s = ${(r.once / TARGET).toFixed(1)}x the ${fmt(TARGET)}/s target ` +
      `(${fmt(r.avg)}-byte letter, ${r.selectors} selectors, inlined ${r.template.inlining}; per letter with juice it would be ${fmt(r.perLetter)}/s = ` +
      `${(r.perLetter / TARGET).toFixed(2)}x)`);
    console.log(`  target     : >= ${fmt(TARGET)} letters/s with renderLetter: ${verdict}`);

    // 2. The bundled templates with their sample rows.
    console.log('\n2. The bundled templates, with their sample rows');
    const bundled = TemplateSet.load(TEMPLATES);
    for (const name of values.template ?? bundled.list()) {
      const sample = join(ROOT, 'samples', `${name}.csv`);
      if (!existsSync(sample)) {
        console.log(`\n${name}: skipped (no samples/${name}.csv; its rows come from --lookup)`);
        continue;
      }
      const sampleRows = parse(readFileSync(sample), { columns: true, bom: true });
      print(name, bench(bundled, TEMPLATES, name, sampleRows), `${sampleRows.length} sample rows`);
    }
  } finally {
    removeDir(tmp);
  }
  t.summary();
}

main();
