/**
 * The event log behind `GET /v1/events`: experiment state changes, policy changes and halts, each
 * with an increasing id, the last MAX_EVENTS kept so a client reconnecting with `Last-Event-ID`
 * gets what it missed, in order.
 */
import type { PolicyStore, Unsubscribe } from "../store/index.ts";

const MAX_EVENTS = 1000;

export type EventType = "experiment" | "policy" | "halt";

export interface HfiEvent {
  id: number;
  type: EventType;
  /** RFC 3339. */
  at: string;
  data: Record<string, unknown>;
}

export interface EventLog {
  append(type: EventType, data: Record<string, unknown>): HfiEvent;
  /** Retained events with an id above `id`, oldest first. */
  since(id: number): HfiEvent[];
  /** Calls `listener` with every later event, synchronously, in order. */
  subscribe(listener: (event: HfiEvent) => void): Unsubscribe;
}

export function createEventLog(now: () => Date = () => new Date()): EventLog {
  const events: HfiEvent[] = [];
  const listeners = new Set<(event: HfiEvent) => void>();
  let nextId = 1;
  return {
    append(type, data) {
      const event: HfiEvent = { id: nextId++, type, at: now().toISOString(), data };
      events.push(event);
      if (events.length > MAX_EVENTS) events.shift();
      for (const listener of listeners) listener(event);
      return event;
    },
    since(id) {
      return events.filter((e) => e.id > id);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** Policy changes and halts from the store, as events. */
export function recordStoreEvents(store: PolicyStore, events: EventLog): Unsubscribe {
  return store.watch((event) => {
    if (!("policy" in event)) {
      events.append("halt", { type: event.type, reason: event.halt.reason, revision: event.revision });
      return;
    }
    events.append("policy", {
      type: event.type,
      name: event.policy.metadata.name,
      revision: event.revision,
      ...(event.reason && { reason: event.reason }),
    });
  });
}
