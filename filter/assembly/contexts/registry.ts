import { RootContext } from "./root";

/**
 * Root contexts of this VM by id, and which root each stream belongs to. A stream costs nothing
 * here: with one root in the VM (one plugin: the usual case) every stream belongs to it and nothing
 * is recorded per stream; only while a VM holds several roots is a stream's root remembered, from
 * its creation to its deletion. Lookups of unknown ids give null or the VM's first root — callbacks
 * for contexts the filter never saw (or already forgot) must not trap, since a trap kills the
 * worker's VM.
 */
const roots = new Map<u32, RootContext>();
/** The first root created: the root of every stream not recorded in streamRoots. */
let firstRoot: RootContext | null = null;
/** Streams created while the VM had more than one root, by id. */
const streamRoots = new Map<u32, RootContext>();

export function createContext(id: u32, parentId: u32): void {
  if (parentId == 0) {
    addRoot(id);
  } else if (roots.size > 1 && roots.has(parentId)) {
    streamRoots.set(id, roots.get(parentId));
  }
}

function addRoot(id: u32): RootContext {
  const root = new RootContext(id);
  roots.set(id, root);
  if (firstRoot == null) firstRoot = root;
  return root;
}

export function findRoot(id: u32): RootContext | null {
  return roots.has(id) ? roots.get(id) : null;
}

/** The root context `id`, created if the host configures one it never announced. */
export function ensureRoot(id: u32): RootContext {
  return roots.has(id) ? roots.get(id) : addRoot(id);
}

/** The root of stream `id`; null when `id` is a root itself or the VM has no root. */
export function rootOfStream(id: u32): RootContext | null {
  if (streamRoots.size > 0 && streamRoots.has(id)) return streamRoots.get(id);
  const root = firstRoot;
  if (root == null || root.id == id || (roots.size > 1 && roots.has(id))) return null;
  return root;
}

/** Forgets context `id` (a stream or a root). */
export function deleteContext(id: u32): void {
  if (streamRoots.size > 0) streamRoots.delete(id);
  if (roots.has(id)) {
    const root = roots.get(id);
    roots.delete(id);
    if (root === firstRoot) firstRoot = roots.size > 0 ? roots.values()[0] : null;
  }
}
