import { ApiError } from "../../client/index.ts";
import { ERROR_CODES, type ErrorCode, isHfiError } from "../../errors.ts";

/**
 * A problem a command found by itself, before or without asking the server (flag values, files,
 * documents); `lines` are printed under the message. Not citty's `CLIError`, which means a usage error.
 */
export class CommandError extends Error {
  override readonly name = "CommandError";
  readonly code: ErrorCode;
  readonly lines: string[];

  constructor(message: string, code: ErrorCode = "InvalidInput", lines: string[] = []) {
    super(message);
    this.code = code;
    this.lines = lines;
  }
}

/** Unknown command or flag, missing argument. */
const USAGE_EXIT_CODE = 1;
const UNEXPECTED_EXIT_CODE = 1;

/** The one place where errors become exit codes; those of error codes are in ERROR_CODES. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof AggregateError) return exitCodeOf(err.errors[0]);
  if (err instanceof CommandError || isHfiError(err)) return ERROR_CODES[err.code].exitCode;
  if (isUsageError(err)) return USAGE_EXIT_CODE;
  return UNEXPECTED_EXIT_CODE;
}

/** citty's own errors (unknown command, missing argument, invalid enum value); its class is not exported. */
export function isUsageError(err: unknown): err is Error & { code: string } {
  return err instanceof Error && err.name === "CLIError";
}

const RESOURCE = "faultinjectionpolicies.hfi.dev";

/** The lines that tell the user what went wrong, kubectl-style; the first is the headline. */
export function describeError(err: unknown): string[] {
  if (err instanceof AggregateError) return err.errors.flatMap(describeError);
  if (err instanceof ApiError) return describeApiError(err);
  if (err instanceof CommandError) return [`error: ${err.message}`, ...err.lines.map((line) => `  ${line}`)];
  if (err instanceof Error) return [`error: ${err.message}`];
  return [`error: ${String(err)}`];
}

function describeApiError(err: ApiError): string[] {
  const object = err.policyName === undefined ? undefined : `${RESOURCE} "${err.policyName}"`;
  const head = `Error from server (${err.reason}): `;
  if (object && err.code === "NotFound") return [`${head}${object} not found`];
  if (object && err.code === "AlreadyExists") return [`${head}${object} already exists`];
  if (object && err.code === "Conflict") {
    return [`${head}Operation cannot be fulfilled on ${object}: ${err.message}`];
  }
  if (object && err.code === "InvalidInput" && err.details.length > 0) {
    return [
      `${head}${object} is invalid:`,
      ...err.details.map((d) => `  ${d.path || "(document)"}: ${d.message}`),
    ];
  }
  const hint = err.code === "Unauthenticated" ? "; set --token or HFI_TOKEN" : "";
  return [`${head}${err.message}${hint}`];
}
