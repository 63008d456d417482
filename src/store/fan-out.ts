import type { Unsubscribe, WatchEvent, WatchListener } from "./types.ts";

/**
 * The watch listeners of one store. Each change reaches every listener in order, on a macrotask of
 * its own and as a copy of its own, so a writer resumes first and a slow or throwing listener never
 * delays or fails a write (what it throws goes to `onWatcherError`).
 */
export interface WatchFanOut {
  /**
   * Adds a listener that hears of changes after revision `since` (all later ones when omitted).
   * Adding one function twice gives two independent subscriptions.
   */
  add(listener: WatchListener, since?: number): Unsubscribe;
  deliver(event: WatchEvent): void;
  /** Drops every listener; nothing is delivered to them any more, not even what is queued. */
  clear(): void;
}

export function createWatchFanOut(onWatcherError: (err: unknown) => void): WatchFanOut {
  const listeners = new Map<WatchListener, number>();
  return {
    add(listener, since = Number.NEGATIVE_INFINITY) {
      const subscription: WatchListener = (event) => listener(event);
      listeners.set(subscription, since);
      return () => {
        listeners.delete(subscription);
      };
    },
    deliver(event) {
      for (const [listener, since] of listeners) {
        if (event.revision <= since) continue;
        const copy = structuredClone(event);
        setImmediate(() => {
          if (!listeners.has(listener)) return;
          Promise.resolve()
            .then(() => listener(copy))
            .catch(onWatcherError);
        });
      }
    },
    clear() {
      listeners.clear();
    },
  };
}
