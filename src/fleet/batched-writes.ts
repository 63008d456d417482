/** Timing shared by the records a replica publishes about itself (its etcd key, its Lease). */
export interface BatchedWrites {
  /** Writes soon: after `gatherMs`, at most once per `minIntervalMs`, never two at once. */
  schedule(): void;
  /** The write that `write` is about to make counts for `minIntervalMs` from now. */
  started(): void;
  /** When `started()` was last called (ms since the epoch); −∞ before. */
  readonly lastStartedMs: number;
  /** No more writes; resolves when the one under way (if any) is over. */
  close(): Promise<void>;
}

/**
 * Batches calls of `write`: a change waits `gatherMs` for more, so a burst is one write; writes are
 * at least `minIntervalMs` apart (counted from `started()`); and `schedule` also runs every
 * `minIntervalMs` by itself, so `write` can re-check (and renew) what nobody scheduled.
 */
export function batchedWrites(
  write: () => Promise<void>,
  { minIntervalMs, gatherMs }: { minIntervalMs: number; gatherMs: number },
): BatchedWrites {
  let lastWriteMs = Number.NEGATIVE_INFINITY;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let writing: Promise<void> | undefined;
  let closed = false;

  function schedule(): void {
    if (closed || timer) return;
    const delay = Math.max(gatherMs, lastWriteMs + minIntervalMs - Date.now());
    timer = setTimeout(() => {
      timer = undefined;
      writing ??= write().finally(() => {
        writing = undefined;
      });
    }, delay);
  }

  const tick = setInterval(schedule, minIntervalMs);
  return {
    schedule,
    started() {
      lastWriteMs = Date.now();
    },
    get lastStartedMs() {
      return lastWriteMs;
    },
    async close() {
      closed = true;
      clearInterval(tick);
      clearTimeout(timer);
      await writing;
    },
  };
}
