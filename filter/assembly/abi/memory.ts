/**
 * Memory shared with the host: the allocator the host calls to hand us bytes, and a static scratch
 * area for out-parameters. One scratch area is enough: a VM runs one callback at a time, and every
 * reader copies the result out before the next hostcall.
 */

const SCRATCH: usize = memory.data(16);
/** Out-param slot for a pointer (or an id, a level, a token). */
export const OUT_PTR: usize = SCRATCH;
/** Out-param slot for a length. */
export const OUT_LEN: usize = SCRATCH + 4;
/** Out-param slot for a 64-bit value (clock). */
export const OUT_U64: usize = SCRATCH + 8;

/** Scratch for header names passed to the host, so reading a header allocates nothing for its key. */
export const KEY_SCRATCH_SIZE: i32 = 256;
export const KEY_SCRATCH: usize = memory.data(KEY_SCRATCH_SIZE);

/** Clears the (ptr, len) slots, so a call that fails leaves "empty" behind rather than stale bytes. */
export function clearOut(): void {
  store<u64>(SCRATCH, 0);
}

/**
 * Host → VM allocation (exported as proxy_on_memory_allocate). heap.alloc runs no GC step, so the
 * re-entrant call in the middle of a hostcall cannot move or collect anything.
 */
export function allocateForHost(size: usize): usize {
  return heap.alloc(size);
}

/** Copies the host-written (ptr, len) into a managed buffer and frees the host block. */
export function takeOutBytes(): ArrayBuffer {
  const ptr = load<u32>(OUT_PTR);
  const len = load<u32>(OUT_LEN);
  const bytes = new ArrayBuffer(<i32>len);
  if (ptr != 0) {
    memory.copy(changetype<usize>(bytes), ptr, len);
    heap.free(ptr);
  }
  return bytes;
}

/** Decodes the host-written (ptr, len) as UTF-8 and frees the host block. */
export function takeOutString(): string {
  const ptr = load<u32>(OUT_PTR);
  const len = load<u32>(OUT_LEN);
  if (ptr == 0) return "";
  const text = String.UTF8.decodeUnsafe(ptr, len);
  heap.free(ptr);
  return text;
}

/**
 * A block the host allocated through proxy_on_memory_allocate and handed over, kept as is (no copy)
 * until free(). Used for request values read once per request and released when the request is
 * decided, so reading them costs the host's allocation and nothing more.
 */
export class HostBlock {
  ptr: usize = 0;
  len: usize = 0;

  /** Adopts the (ptr, len) the host just wrote to the out slots, freeing what this block held. */
  take(): void {
    this.free();
    this.ptr = load<u32>(OUT_PTR);
    this.len = load<u32>(OUT_LEN);
  }

  free(): void {
    if (this.ptr != 0) heap.free(this.ptr);
    this.ptr = 0;
    this.len = 0;
  }
}
