/** `canvas-letters approve <preview-dir> --by <name>`: check a sealed preview, show it, ask, write approval.json. */
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { ConfigError, UsageError } from '../errors.js';
import { showName } from '../escape.js';
import type { PendingApproval } from '../approve/index.js';
import { findLedger, type CommonFlags } from './ledger.js';
import { say, shellWord } from './shared.js';

export interface ApproveFlags extends CommonFlags {
  by: string;
  exclude?: string;
  yes?: boolean;
}

/** `configured`: the config file's ledger (or the job's). */
export async function runApprove(dir: string, flags: ApproveFlags, configured?: string): Promise<number> {
  if (!flags.yes && process.stdin.isTTY !== true) {
    throw new UsageError('approve needs --yes when standard input is not a terminal', 'nothing was approved; add --yes to confirm non-interactively');
  }
  const { APPROVAL_FILE, prepareApproval, writeApproval } = await import('../approve/index.js');
  const found = await ledgerOf(flags, configured);
  let pending: PendingApproval;
  try {
    pending = prepareApproval({ dir, by: flags.by, ...(flags.exclude !== undefined && { exclude: flags.exclude }), ...(found.ledger && { ledger: found.ledger }) });
  } finally {
    found.ledger?.close();
  }
  say(describe(pending, ledgerLines(pending, found)));
  if (!flags.yes && !(await ask(`Approve ${letters(pending.approved.length)}? [y/N] `))) {
    say('not approved: nothing was written');
    return 2;
  }
  const approval = writeApproval(pending);
  say(`approved: ${letters(approval.approved.length)} by ${showName(approval.approver)} at ${showName(approval.approvedAt)} (approval ${showName(approval.id)})`);
  say(`approval: ${showName(join(dir, APPROVAL_FILE))}; gallery: ${showName(pending.gallery)}`);
  say(`next: canvas-letters send --approved ${showName(shellWord(dir))} (add the --job or --ledger the batch was meant for)`);
  return 0;
}

type FoundLedger = Partial<Awaited<ReturnType<typeof findLedger>>>;

/** The ledger the batch would be sent with, when it can be named (no CANVAS_BASE_URL and no ledger named: none). */
async function ledgerOf(flags: ApproveFlags, configured: string | undefined): Promise<FoundLedger> {
  try {
    return await findLedger(flags, configured);
  } catch (err) {
    if (err instanceof ConfigError) return {};
    throw err;
  }
}

/** What the ledger says of the approved letters: one line, or two when some are sent and some of unknown outcome. */
function ledgerLines(p: PendingApproval, found: FoundLedger): string[] {
  if (found.file === undefined) return ['ledger: not checked (no --ledger, CANVAS_LETTERS_LEDGER, config ledger or CANVAS_BASE_URL): cannot tell whether any was sent'];
  const file = showName(found.file);
  if (!found.ledger) return [`ledger: none at ${file} (${found.from}): nothing was sent with it yet`];
  const sent = p.alreadySent.length;
  const unknown = p.unknown.length;
  if (sent === 0 && unknown === 0) return [`ledger ${file}: none of these letters was sent yet`];
  const lines: string[] = [];
  if (sent > 0) lines.push(`already sent: ${sent} of these letters (${rowList(p.alreadySent)}), by the ledger ${file}: send --approved will skip them`);
  if (unknown > 0) {
    lines.push(
      `ledger ${file}: ${unknown} of these letters ${unknown === 1 ? 'has' : 'have'} an unknown outcome (${rowList(p.unknown)}): ` +
        `${unknown === 1 ? 'it' : 'they'} may already be in Canvas; check the charts and record what you found with canvas-letters ledger resolve before sending`,
    );
  }
  return lines;
}

/** `rows 3, 5` / `row 3` (the first 20, then a count). */
function rowList(rows: readonly number[]): string {
  const more = rows.length > 20 ? ` and ${rows.length - 20} more` : '';
  return `row${rows.length === 1 ? '' : 's'} ${rows.slice(0, 20).join(', ')}${more}`;
}

const letters = (n: number) => `${n} letter${n === 1 ? '' : 's'}`;

/** What is being approved: counts, templates, the CSV and render date, what the ledger says, the gallery (batch.json's values escaped). */
function describe(p: PendingApproval, ledger: readonly string[]): string {
  const excluded = p.excluded.length ? `, ${p.excluded.length} excluded (row${p.excluded.length === 1 ? '' : 's'} ${p.excluded.join(', ')})` : ', none excluded';
  return [
    `Approving the preview in ${showName(p.dir)} as ${showName(p.by)}:`,
    `  ${letters(p.approved.length)} approved${excluded}`,
    `  templates: ${p.templates.map((t) => `${showName(t.name)} (${t.count})`).join(', ')}`,
    `  from ${showName(p.csv)}, rendered on ${showName(p.renderDate)}`,
    ...ledger.map((line) => `  ${line}`),
    `  gallery: ${showName(p.gallery)} (open it in a browser to review the letters)`,
  ].join('\n');
}

async function ask(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
