import { ApiError } from "../../client/index.ts";

/**
 * Runs `step` for each item in order. As kubectl does, an object the server refuses does not stop
 * the others; the refusals are thrown together at the end. An error of any other kind (the control
 * plane cannot be reached) stops at once.
 */
export async function forEachObject<T>(items: readonly T[], step: (item: T) => Promise<void>): Promise<void> {
  const refused: ApiError[] = [];
  for (const item of items) {
    try {
      await step(item);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      refused.push(err);
    }
  }
  if (refused.length === 1) throw refused[0];
  if (refused.length > 1) throw new AggregateError(refused, `${refused.length} objects were refused`);
}
