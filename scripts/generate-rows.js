#!/usr/bin/env node
// node scripts/generate-rows.js <n> <file>
// Writes an invented jury-duty CSV of n data rows (the columns of samples/jury-duty.csv) to file,
// streamed in chunks (the file is never held in memory): distinct 32-hex patient keys, three
// providers, two locations, patients named "Test Patient <i>", some optional cells empty.
// The rows are the same on every run. Nothing in it is real patient data.
import { writeJuryCsv } from './bench-lib.js';

const [nArg, file] = process.argv.slice(2);
const n = Number(nArg);
if (!file || !Number.isInteger(n) || n < 0) {
  console.error('usage: node scripts/generate-rows.js <n> <file>');
  process.exit(2);
}
const t0 = performance.now();
const bytes = await writeJuryCsv(file, n);
console.error(`${file}: ${n.toLocaleString('en-US')} rows, ${(bytes / 2 ** 20).toFixed(1)} MiB in ${Math.round(performance.now() - t0)} ms`);
