/**
 * Progress of a send on stderr: a live bar (counts by status, rate, ETA) on a terminal;
 * otherwise a plain line every few seconds, for logs. Counts only: no patient data.
 */
import type { SendProgress } from '../send/pass.js';

export interface ProgressView {
  update(p: SendProgress): void;
  stop(): void;
}

const PLAIN_EVERY_MS = 5_000;

export async function createProgressView(total: number, tty: boolean): Promise<ProgressView> {
  const started = Date.now();
  const rate = (done: number) => done / Math.max(0.001, (Date.now() - started) / 1000);
  if (tty) {
    const { default: cliProgress } = await import('cli-progress');
    const bar = new cliProgress.SingleBar(
      {
        format: 'sending [{bar}] {value}/{total} | sent {sent} failed {failed} unknown {unknown} skipped {skipped} | {rate}/s | ETA {eta_formatted}',
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { sent: 0, failed: 0, unknown: 0, skipped: 0, rate: '0.0' });
    return {
      update: (p) => bar.update(p.done, { sent: p.sent, failed: p.failed, unknown: p.unknown, skipped: p.skipped, rate: rate(p.done).toFixed(1) }),
      stop: () => bar.stop(),
    };
  }
  let last: SendProgress | undefined;
  const line = (p: SendProgress) =>
    `progress: ${p.done}/${p.total} done (sent ${p.sent}, failed ${p.failed}, unknown ${p.unknown}, skipped ${p.skipped}), ${p.inFlight} in flight, ${rate(p.done).toFixed(1)}/s`;
  const timer = setInterval(() => {
    if (last) process.stderr.write(line(last) + '\n');
  }, PLAIN_EVERY_MS);
  timer.unref();
  return {
    update: (p) => {
      last = p;
    },
    stop: () => clearInterval(timer),
  };
}
