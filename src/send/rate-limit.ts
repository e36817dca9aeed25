/**
 * `--rate`: at most n requests started per second, evenly spaced (a token bucket of
 * capacity one), so no second-long window ever holds more than n starts. Every HTTP
 * attempt takes a slot, retries included.
 */
import { abortableSleep } from '../canvas/retry.js';

export class RateLimiter {
  private readonly intervalMs: number;
  private next = 0;

  constructor(
    perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(perSecond > 0)) throw new RangeError('rate must be a positive number');
    this.intervalMs = 1000 / perSecond;
  }

  /** Wait for the next start slot. Rejects with the signal's reason if aborted while waiting. */
  async take(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const now = this.now();
    const at = Math.max(now, this.next);
    this.next = at + this.intervalMs;
    if (at > now) await abortableSleep(at - now, signal);
    signal?.throwIfAborted();
  }
}
