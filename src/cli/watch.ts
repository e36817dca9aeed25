/**
 * `canvas-letters watch <inbox>`: poll a folder and send each complete CSV file like
 * `send --yes`. SIGINT/SIGTERM finish the requests in flight, record them and exit (a file
 * cut short stays in processing/ and is resumed at the next start). One line per file.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { showName } from '../escape.js';
import type { WatchEvent } from '../watch/index.js';
import type { AppliedConfig } from './config.js';
import { sendTuning } from './send.js';
import { addBatchOptions, ledgerInput, mappingInput, positiveNumber, say, type SendFlags } from './shared.js';

export interface WatchFlags extends SendFlags {
  interval: number;
  settle: number;
  once?: boolean;
}

export function addWatchOptions(cmd: Command): Command {
  return addBatchOptions(cmd, 'watch')
    .option('--interval <seconds>', 'poll the inbox every this many seconds', positiveNumber, 10)
    .option('--settle <seconds>', 'take a file once unchanged this long (a file renamed into place is taken at once)', positiveNumber, 5)
    .option('--once', 'process what is ready and exit (for cron)');
}

export async function runWatch(inbox: string, flags: WatchFlags, project?: AppliedConfig): Promise<number> {
  const [{ watch }, { loadConfig }, { formatCounts, formatConfigUsed }] = await Promise.all([
    import('../watch/index.js'),
    import('../canvas/index.js'),
    import('../report/writer.js'),
  ]);
  const config = loadConfig();
  const ledger = await ledgerInput(flags, project?.ledger);
  if (project) say(formatConfigUsed(project.used));
  if (flags.out) say('watch: --out has no effect; each report is written beside its file (<name>.report/)');
  const stop = new AbortController();
  let signals = 0;
  const onSignal = () => {
    if (++signals === 1) {
      say('stopping: finishing the requests in flight (signal again to exit at once)');
      stop.abort();
    } else process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const onEvent = (e: WatchEvent) => {
    const name = showName(e.name);
    if (e.type === 'taken') say(`${e.resumed ? 'resuming' : 'taking'} ${name}`);
    else if (e.type === 'interrupted') say(`${name}: interrupted; it stays in processing/ and is resumed at the next start`);
    else if (e.type === 'refused') say(`warning: ${e.where === 'processing' ? 'processing/' : ''}${name} ${e.why}: never taken, left where it is`);
    else {
      for (const line of e.errors ?? []) say(`${name}: ${showName(line)}`);
      if (e.summary) say(`${name}: ${formatCounts(e.summary)}${e.summary.stopReason ? ` (stopped: ${showName(e.summary.stopReason)})` : ''}`);
      // Only paths that exist now: a file refused before validation has no report, only its errors file.
      const where = [e.report && `report: ${showName(e.report)}`, e.errorsFile && `errors: ${showName(e.errorsFile)}`].filter(Boolean);
      say(`${name} → ${showName(e.movedTo)}${where.length ? ` (${where.join('; ')})` : ''}`);
    }
  };
  try {
    const result = await watch({
      ...(await mappingInput(flags)),
      ...sendTuning(flags),
      ...ledger,
      config,
      ...(project && { configUsed: project.used }),
      inbox: resolve(inbox),
      intervalMs: flags.interval * 1000,
      settleMs: flags.settle * 1000,
      once: flags.once,
      signal: stop.signal,
      onEvent,
    });
    if (flags.json) process.stdout.write(JSON.stringify(project ? { ...result, config: project.used } : result, null, 2) + '\n');
    if (flags.once && result.files.length === 0) say('nothing to do');
    return result.exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
