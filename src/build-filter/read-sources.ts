import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const FILTER_DIR = fileURLToPath(new URL("../../filter/", import.meta.url));

/**
 * Every `filter/assembly/**\/*.ts`, keyed by its path relative to `filter/`, in sorted order.
 * Imported as a Bun macro (embedded.ts), so it runs when the CLI is bundled or transpiled and its
 * result is inlined: the standalone binary carries the sources as of its build.
 */
export function readFilterSources(): Record<string, string> {
  const sources: Record<string, string> = {};
  const walk = (dir: string): void => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts")) sources[relative(FILTER_DIR, path)] = readFileSync(path, "utf8");
    }
  };
  walk(join(FILTER_DIR, "assembly"));
  return sources;
}
