/**
 * The reservation-expiry controller: every interval, expire the reservations whose deadline has passed.
 * Each expiry is a guarded store transaction (`CreditStore.sweepExpired`), so running it in every
 * instance is safe: a reservation is resolved exactly once, by whoever commits first.
 */
import type { Logger } from '@photoncloud/log';
import type { CreditStore } from './credit-store.js';

/** Options of `ExpirySweeper`. */
export interface ExpirySweeperOptions {
  /** Pause between sweeps in ms; 0 disables the sweeper. */
  intervalMs: number;
  logger?: Logger;
}

/** Periodic sweeper; `stop()` waits for a sweep in progress. */
export class ExpirySweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    private readonly credit: CreditStore,
    private readonly opts: ExpirySweeperOptions,
  ) {}

  /** Start sweeping. */
  start(): void {
    if (this.opts.intervalMs <= 0 || this.stopped) return;
    this.schedule();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.running = this.sweep().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.schedule();
      });
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  /** One pass: expire everything due, in batches (bounded). */
  async sweep(): Promise<number> {
    let total = 0;
    try {
      for (let i = 0; i < 100 && !this.stopped; i++) {
        const n = await this.credit.sweepExpired(100);
        total += n;
        if (n < 100) break;
      }
      if (total > 0) this.opts.logger?.info({ expired: total }, 'reservations expired');
    } catch (err) {
      this.opts.logger?.warn({ err }, 'expiry sweep failed; retrying next interval');
    }
    return total;
  }

  /** Stop; resolves once a sweep in progress has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
