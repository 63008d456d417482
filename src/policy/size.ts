/** Largest policy, in UTF-8 bytes: as a request body, and as the JSON object the store keeps. */
export const MAX_POLICY_BYTES = 1024 * 1024;

/**
 * Whether `value`, written as JSON, takes more than `limit` UTF-8 bytes. Counting stops as soon as
 * it does, so a YAML document whose aliases repeat one large value many times costs no more than
 * `limit` to measure, however far it would expand.
 */
export function jsonBytesExceed(value: unknown, limit: number): boolean {
  let total = 0;
  const work: unknown[] = [value];
  while (work.length > 0) {
    const node = work.pop();
    if (typeof node === "string") {
      total += Buffer.byteLength(JSON.stringify(node));
    } else if (Array.isArray(node)) {
      total += 2 + node.length; // brackets and commas
      for (const child of node) work.push(child);
    } else if (node !== null && typeof node === "object") {
      const entries = Object.entries(node);
      total += 2 + entries.length; // braces and commas
      for (const [key, child] of entries) {
        total += Buffer.byteLength(JSON.stringify(key)) + 1;
        work.push(child);
      }
    } else {
      total += String(node).length;
    }
    if (total > limit) return true;
  }
  return false;
}
