import { Rule } from "../rules";

/** A paused request (or held response): which stream, until when, and the rule it was paused under. */
export class DelayedRequest {
  /** Position in the queue's heap; -1 once it left the queue (resumed or cancelled). */
  position: i32 = -1;
  /** A held response that was rewritten when its delay ran its course (not released untouched). */
  rewritten: bool = false;

  constructor(
    readonly contextId: u32,
    readonly startNs: u64,
    readonly deadlineNs: u64,
    /** The rule matched when the request was paused; a later rule set does not change it. */
    readonly rule: Rule,
    /** The delay drawn for this request, in ms (what `x-hfi-fault` tells the upstream). */
    readonly delayMs: u32,
    /** The response headers are held (a response delay), not the request. */
    readonly response: bool,
    /** For a held response: a body follows its headers (they did not end the stream). */
    readonly bodyFollows: bool,
  ) {}

  get queued(): bool {
    return this.position >= 0;
  }
}

/**
 * Paused requests by deadline: a binary min-heap that knows each entry's position, so a request
 * whose client went away is removed at once (O(log n)) rather than left to rot until its deadline.
 */
export class DelayQueue {
  private readonly heap: DelayedRequest[] = [];

  get size(): i32 {
    return this.heap.length;
  }

  /** The entry at heap position `at` (0 ≤ at < size), for a walk over every entry in no order. */
  at(at: i32): DelayedRequest {
    return unchecked(this.heap[at]);
  }

  /** The earliest deadline; only when size > 0. */
  peek(): DelayedRequest {
    return unchecked(this.heap[0]);
  }

  push(entry: DelayedRequest): void {
    const heap = this.heap;
    entry.position = heap.length;
    heap.push(entry);
    this.up(entry.position);
  }

  /** Removes and returns the earliest; only when size > 0. */
  pop(): DelayedRequest {
    const first = unchecked(this.heap[0]);
    this.remove(first);
    return first;
  }

  /** Takes `entry` out of the queue; false when it was not in it. */
  remove(entry: DelayedRequest): bool {
    const at = entry.position;
    const heap = this.heap;
    if (at < 0 || at >= heap.length || unchecked(heap[at]) !== entry) return false;
    const last = heap.pop();
    entry.position = -1;
    if (last !== entry) {
      this.place(last, at);
      this.down(at);
      this.up(last.position);
    }
    return true;
  }

  private up(at: i32): void {
    const heap = this.heap;
    const entry = unchecked(heap[at]);
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const above = unchecked(heap[parent]);
      if (above.deadlineNs <= entry.deadlineNs) break;
      this.place(above, at);
      at = parent;
    }
    this.place(entry, at);
  }

  private down(at: i32): void {
    const heap = this.heap;
    const n = heap.length;
    const entry = unchecked(heap[at]);
    while (true) {
      let child = 2 * at + 1;
      if (child >= n) break;
      if (child + 1 < n && unchecked(heap[child + 1]).deadlineNs < unchecked(heap[child]).deadlineNs) child++;
      const below = unchecked(heap[child]);
      if (below.deadlineNs >= entry.deadlineNs) break;
      this.place(below, at);
      at = child;
    }
    this.place(entry, at);
  }

  private place(entry: DelayedRequest, at: i32): void {
    unchecked((this.heap[at] = entry));
    entry.position = at;
  }
}
