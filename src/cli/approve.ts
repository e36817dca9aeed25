/** `canvas-letters approve <preview-dir> --by <name>`: check a sealed preview, show it, ask, write approval.json. */
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { UsageError } from '../errors.js';
import { showName } from '../escape.js';
import type { PendingApproval } from '../approve/index.js';
import { say, shellWord } from './shared.js';

export interface ApproveFlags {
  by: string;
  exclude?: string;
  yes?: boolean;
}

export async function runApprove(dir: string, flags: ApproveFlags): Promise<number> {
  if (!flags.yes && process.stdin.isTTY !== true) {
    throw new UsageError('approve needs --yes when standard input is not a terminal', 'nothing was approved; add --yes to confirm non-interactively');
  }
  const { APPROVAL_FILE, prepareApproval, writeApproval } = await import('../approve/index.js');
  const pending = prepareApproval({ dir, by: flags.by, ...(flags.exclude !== undefined && { exclude: flags.exclude }) });
  say(describe(pending));
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

const letters = (n: number) => `${n} letter${n === 1 ? '' : 's'}`;

/** What is being approved: counts, templates, the CSV and render date, the gallery. */
function describe(p: PendingApproval): string {
  const excluded = p.excluded.length ? `, ${p.excluded.length} excluded (row${p.excluded.length === 1 ? '' : 's'} ${p.excluded.join(', ')})` : ', none excluded';
  return [
    `Approving the preview in ${showName(p.dir)} as ${showName(p.by)}:`,
    `  ${letters(p.approved.length)} approved${excluded}`,
    `  templates: ${p.templates.map((t) => `${showName(t.name)} (${t.count})`).join(', ')}`,
    `  from ${showName(p.csv)}, rendered on ${p.renderDate}`,
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
