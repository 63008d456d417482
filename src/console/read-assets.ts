import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const CONSOLE_DIR = fileURLToPath(new URL("./", import.meta.url));

/** The console's files, by the name it serves them under. */
export type ConsoleAssets = Record<"index.html" | "console.css" | "console.js", string>;

/**
 * Imported as a Bun macro (console.ts), so it runs when the server is bundled or transpiled and its
 * result is inlined: `dist/hfi` and `dist/hfi.mjs` carry the console as of their build. The browser
 * code (client/) is bundled and minified here, for browsers of the last few years.
 */
export function readConsoleAssets(): ConsoleAssets {
  // A macro runs inside the bundler, which cannot be re-entered: the script is bundled by another one.
  const built = Bun.spawnSync(
    [process.execPath, "build", `${CONSOLE_DIR}client/main.ts`, "--target=browser", "--minify"],
    { stderr: "pipe" },
  );
  if (!built.success) throw new Error(`could not bundle the console: ${built.stderr.toString()}`);
  return {
    "index.html": readFileSync(`${CONSOLE_DIR}assets/index.html`, "utf8"),
    "console.css": readFileSync(`${CONSOLE_DIR}assets/console.css`, "utf8"),
    "console.js": built.stdout.toString(),
  };
}
