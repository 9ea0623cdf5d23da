/**
 * Bounds on the exporter's work: at most `maxConcurrent` probes in flight,
 * at most `queueLimit` waiting, and a token bucket of `ratePerSecond` requests
 * (burst of one second's worth). Past either bound a request is refused at
 * once (429), never queued without end. The clock is injected.
 */
export interface Limiter {
  /** Takes a token; false when the rate is exceeded. */
  admit(): boolean;
  /** Runs `work` in a slot; null when too many wait already. */
  run<T>(work: () => Promise<T>): Promise<T> | null;
  readonly inFlight: number;
  readonly waiting: number;
}

export function createLimiter(options: { maxConcurrent: number; queueLimit: number; ratePerSecond: number; now?: () => number }): Limiter {
  const now = options.now ?? (() => performance.now());
  let tokens = options.ratePerSecond;
  let refilledAt = now();
  let inFlight = 0;
  const queue: Array<() => void> = [];

  const release = (): void => {
    inFlight--;
    const next = queue.shift();
    if (next) next();
  };

  return {
    admit() {
      const t = now();
      tokens = Math.min(options.ratePerSecond, tokens + ((t - refilledAt) / 1000) * options.ratePerSecond);
      refilledAt = t;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
    run<T>(work: () => Promise<T>): Promise<T> | null {
      if (inFlight >= options.maxConcurrent && queue.length >= options.queueLimit) return null;
      return new Promise<T>((resolve, reject) => {
        const start = (): void => {
          inFlight++;
          work().finally(release).then(resolve, reject);
        };
        if (inFlight < options.maxConcurrent) start();
        else queue.push(start);
      });
    },
    get inFlight() {
      return inFlight;
    },
    get waiting() {
      return queue.length;
    },
  };
}
