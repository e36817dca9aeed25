// Child process for the multi-process ledger test:
//   node ledger-worker.mjs <ledger module URL> <ledger file> <keys JSON file> <ready folder> <workers>
// Opens the ledger, waits until every worker has opened it (a file each in the ready folder), claims every key (a few per event-loop turn,
// in its own shuffled order, pausing between turns), finishes the ones it got as sent, and prints them as JSON on stdout.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [moduleUrl, file, keysFile, readyDir, workers] = process.argv.slice(2);
const { Ledger } = await import(moduleUrl);
const keys = JSON.parse(readFileSync(keysFile, 'utf8'));
for (let i = keys.length - 1; i > 0; i--) {
  const j = Math.floor(Math.random() * (i + 1));
  [keys[i], keys[j]] = [keys[j], keys[i]];
}

const ledger = Ledger.open(file, { runId: `worker-${process.pid}` });
writeFileSync(join(readyDir, String(process.pid)), '');
while (readdirSync(readyDir).length < Number(workers)) await new Promise((r) => setTimeout(r, 2));
const keysOf = { patientKey: 'p', providerKey: 'v', practiceLocationKey: 'l' };
const got = [];
for (let i = 0; i < keys.length; i += 7) {
  const batch = keys.slice(i, i + 7);
  const results = await Promise.all(
    batch.map((letterKey, row) => ledger.claim({ letterKey, keys: keysOf, template: 't', sourceFile: 'w.csv', row })),
  );
  const mine = batch.filter((_, n) => results[n].claimed);
  await Promise.all(mine.map((k) => ledger.finish(k, { status: 'sent', httpStatus: 201, letterId: `L-${k}`, attempts: 1 })));
  got.push(...mine);
  await new Promise((r) => setTimeout(r, Math.random() * 4)); // as a request would: lets the other process in
}
ledger.close();
process.stdout.write(JSON.stringify({ runId: ledger.runId, got }));
