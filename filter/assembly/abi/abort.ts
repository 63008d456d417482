/**
 * Target of AssemblyScript's `abort` (the build passes `--use abort=assembly/abi/abort/hfiAbort`, the
 * compiler's name for this function): Envoy has no `env.abort`.
 * Logs at critical level; the compiler emits a trap right after the call, which Envoy turns into a
 * failed VM that fails open.
 */
import { LogLevel } from "./enums";
import { proxy_log } from "./imports";

let aborting = false;

export function hfiAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  // Building the message may itself run out of memory and abort again: log only once.
  if (aborting) return;
  aborting = true;
  const text =
    "hfi filter abort: " +
    (message != null ? message : "") +
    " at " +
    (fileName != null ? fileName : "?") +
    ":" +
    line.toString() +
    ":" +
    column.toString();
  const bytes = String.UTF8.encode(text);
  proxy_log(LogLevel.Critical, changetype<usize>(bytes), bytes.byteLength);
}
