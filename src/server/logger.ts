import { type ConsolaInstance, type ConsolaReporter, createConsola, type LogObject } from "consola";

export type Logger = ConsolaInstance;
export type LogFormat = "json" | "pretty";

export interface LoggerOptions {
  /** "json": one object per line on stdout, for machines; "pretty": consola's own output, for humans. */
  format?: LogFormat;
  /** consola level: 3 = info, 4 = debug. */
  level?: number;
}

/** `--log-level` names and the consola levels they stand for. */
export const LOG_LEVELS = { silent: -999, error: 0, warn: 1, info: 3, debug: 4, trace: 5 } as const;
export type LogLevelName = keyof typeof LOG_LEVELS;

export function isLogLevelName(name: string): name is LogLevelName {
  return Object.hasOwn(LOG_LEVELS, name);
}

/** The server's logger. Call it as `logger.info("message", { field: value })`. */
export function createLogger({ format = "json", level = 3 }: LoggerOptions = {}): Logger {
  if (format === "pretty") return createConsola({ level });
  return createConsola({ level, reporters: [jsonLineReporter] });
}

const jsonLineReporter: ConsolaReporter = {
  log(entry) {
    process.stdout.write(`${JSON.stringify(toRecord(entry))}\n`);
  },
};

/** Strings form `msg`, plain objects become fields, an Error becomes `error` and `stack`. */
function toRecord(entry: LogObject): Record<string, unknown> {
  const words: string[] = [];
  const fields: Record<string, unknown> = {};
  for (const arg of entry.args) {
    if (arg instanceof Error) Object.assign(fields, { error: arg.message, stack: arg.stack });
    else if (arg !== null && typeof arg === "object") Object.assign(fields, arg);
    else words.push(String(arg));
  }
  return { time: entry.date.toISOString(), level: entry.type, msg: words.join(" "), ...fields };
}
