// @ts-nocheck: AssemblyScript (asc compiles it; tsc sees bench/** as TypeScript).
/**
 * Target of AssemblyScript's `abort` (the shared asc flags pass `--use abort=assembly/abi/abort/hfiAbort`):
 * Envoy has no `env.abort`. Logs the message at critical level; the compiler traps right after.
 */
import { proxy_log } from "./env";

const CRITICAL: u32 = 5;

export function hfiAbort(message: string | null, _fileName: string | null, _line: u32, _column: u32): void {
  const bytes = String.UTF8.encode(`noop filter abort: ${message != null ? message : ""}`);
  proxy_log(CRITICAL, changetype<usize>(bytes), bytes.byteLength);
}
