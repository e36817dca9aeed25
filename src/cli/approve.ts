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
  say(describe(pending, ledgerLine(pending, found)));
  if (!flags.yes && !(await ask(`Approve ${letters(pending.approved.length)}? [y/N] `))) {
    say('not approved: nothing was written');
    return 2;
  }
  const approval = writeApproval(pending);
  say(`approved: ${letters(approval.approved.length)} by ${showName(approval.approver)} at ${approval.approvedAt} (approval ${approval.id})`);
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

/** What the ledger says of the approved letters. */
function ledgerLine(p: PendingApproval, found: FoundLedger): string {
  if (found.file === undefined) return 'ledger: not checked (no --ledger, CANVAS_LETTERS_LEDGER, config ledger or CANVAS_BASE_URL): cannot tell whether any was sent';
  const file = showName(found.file);
  if (!found.ledger) return `ledger: none at ${file} (${found.from}): nothing was sent with it yet`;
  const sent = p.alreadySent.length;
  if (sent === 0) return `ledger ${file}: none of these letters was sent yet`;
  const rows = `row${sent === 1 ? '' : 's'} ${p.alreadySent.slice(0, 20).join(', ')}${sent > 20 ? ` and ${sent - 20} more` : ''}`;
  return `already sent: ${sent} of these letters (${rows}), by the ledger ${file}: send --approved will skip them`;
}

const letters = (n: number) => `${n} letter${n === 1 ? '' : 's'}`;

/** What is being approved: counts, templates, the CSV and render date, the gallery. */
function describe(p: PendingApproval, ledger: string): string {
  const excluded = p.excluded.length ? `, ${p.excluded.length} excluded (row${p.excluded.length === 1 ? '' : 's'} ${p.excluded.join(', ')})` : ', none excluded';
  return [
    `Approving the preview in ${showName(p.dir)} as ${showName(p.by)}:`,
    `  ${letters(p.approved.length)} approved${excluded}`,
    `  templates: ${p.templates.map((t) => `${showName(t.name)} (${t.count})`).join(', ')}`,
    `  from ${showName(p.csv)}, rendered on ${p.renderDate}`,
    `  ${ledger}`,
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
