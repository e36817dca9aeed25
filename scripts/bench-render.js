#!/usr/bin/env node
/**
 * Render + CSS-inline throughput on one core, for the bundled templates and their sample rows:
 *
 *   per-letter  render the row with Handlebars, then inline the CSS into the letter with juice
 *               (what renderLetter did for every letter before templates were inlined once)
 *   once        LoadedTemplate.renderLetter of a template whose CSS was inlined when it was
 *               loaded (see src/templates/once.ts): Handlebars only
 *
 * Both must give the same letters; the script checks that on every sample row before timing.
 *
 *   npx tsc -p . && node scripts/bench-render.js [--seconds 2] [--template jury-duty]
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse/sync';
import { inlineCss, inlinedSelectors } from '../dist/inline.js';
import { TemplateSet } from '../dist/templates/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '2' }, template: { type: 'string', multiple: true } },
});
const seconds = Number(values.seconds);
const set = TemplateSet.load(join(ROOT, 'templates'));
const names = values.template ?? set.list();

function readCss(name) {
  const parts = [];
  for (const file of ['styles.css', `${name}.css`]) {
    try {
      parts.push(readFileSync(join(ROOT, 'templates', file), 'utf8'));
    } catch {
      // <name>.css is optional
    }
  }
  return parts.join('\n');
}

/** Letters per second of `run` over `rows`, cycling, for about `seconds` (after a warm-up). */
function measure(run, rows) {
  for (let i = 0; i < 200; i++) run(rows[i % rows.length]);
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

const fmt = (n) => Math.round(n).toLocaleString('en-US');

console.log(`node ${process.version}, ${seconds}s per measurement, one core`);
for (const name of names) {
  const template = set.get(name);
  const css = readCss(name);
  const rows = parse(readFileSync(join(ROOT, 'samples', `${name}.csv`)), { columns: true, bom: true });
  const perLetter = (row) => inlineCss(template.render(row), css);
  const once = (row) => template.renderLetter(row);

  for (const row of rows) {
    if (perLetter(row) !== once(row)) throw new Error(`${name}: the two paths give different letters`);
  }
  const sizes = rows.map((row) => Buffer.byteLength(once(row)));
  const avg = sizes.reduce((a, b) => a + b, 0) / sizes.length;
  const image = /data:[^"]*/.exec(once(rows[0]))?.[0].length ?? 0;
  const styleBlocks = [...readFileSync(template.file, 'utf8').matchAll(/<style[^>]*>([\s\S]*?)<\/style>/gi)].map((m) => m[1]);
  const rules = inlinedSelectors([css, ...styleBlocks].join('\n')).length;

  const a = measure(perLetter, rows);
  const b = measure(once, rows);
  console.log(`\n${name}: inlining ${template.inlining}${template.inliningReason ? ` (${template.inliningReason})` : ''}`);
  console.log(`  letter ${fmt(avg)} bytes on average (${fmt(avg - image)} without the ${fmt(image)}-byte signature data: URI), ${rules} inlined selectors, ${rows.length} sample rows`);
  console.log(`  per-letter : ${fmt(a).padStart(7)} letters/s  (${(1e6 / a).toFixed(1)} µs/letter)`);
  console.log(`  once       : ${fmt(b).padStart(7)} letters/s  (${(1e6 / b).toFixed(1)} µs/letter)`);
  console.log(`  ratio      : ${(b / a).toFixed(1)}x`);
}
