import { RootContext } from "./root";
import { StreamContext } from "./stream";

/**
 * Contexts of this VM by id. Lookups of unknown ids give null — callbacks for contexts the filter
 * never saw (or already forgot) must not trap, since a trap kills the worker's VM.
 */
const roots = new Map<u32, RootContext>();
const streams = new Map<u32, StreamContext>();

export function createContext(id: u32, parentId: u32): void {
  if (parentId == 0) {
    roots.set(id, new RootContext(id));
  } else if (roots.has(parentId)) {
    streams.set(id, new StreamContext(id, roots.get(parentId)));
  }
}

export function findRoot(id: u32): RootContext | null {
  return roots.has(id) ? roots.get(id) : null;
}

/** The root context `id`, created if the host configures one it never announced. */
export function ensureRoot(id: u32): RootContext {
  if (!roots.has(id)) roots.set(id, new RootContext(id));
  return roots.get(id);
}

export function findStream(id: u32): StreamContext | null {
  return streams.has(id) ? streams.get(id) : null;
}

/** Forgets context `id`; a stream still paused for a delay leaves the delay queue first. */
export function deleteContext(id: u32): void {
  if (streams.has(id)) {
    streams.get(id).onDone();
    streams.delete(id);
  }
  roots.delete(id);
}
