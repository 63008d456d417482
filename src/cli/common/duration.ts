import { parseGoDurationMs } from "../../policy/index.ts";

/** CLI durations (`--timeout`, `--wait`): Go-style (`500ms`, `30s`, `1m30s`) or bare seconds. */
export function parseDuration(text: string): number | undefined {
  const value = text.trim();
  return /^\d+(?:\.\d+)?$/.test(value) ? Math.round(Number(value) * 1000) : parseGoDurationMs(value);
}
