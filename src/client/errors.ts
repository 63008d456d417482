import { type ErrorCode, errorCodeForStatus, HfiError, isErrorCode } from "../errors.ts";
import type { FieldIssue } from "../policy/index.ts";

/**
 * For answers without a recognisable error body (a proxy's 502 page, say): the code of the status,
 * and a gateway's 502 or 504 means the control plane is unavailable.
 */
function codeForBarePage(status: number): ErrorCode {
  if (status === 502 || status === 504) return "Unavailable";
  return errorCodeForStatus(status) ?? "Internal";
}

/** An error the control plane answered with: an HfiError that also says where it came from. */
export class ApiError extends HfiError {
  /** The HTTP status. */
  readonly status: number;
  /** The code exactly as the server sent it, even one this client does not know (e.g. `Unauthorized`). */
  readonly reason: string;
  /** The policy the request was about, when it named one. */
  readonly policyName: string | undefined;

  constructor(init: {
    code: ErrorCode;
    reason: string;
    message: string;
    details: FieldIssue[];
    status: number;
    policyName?: string;
  }) {
    super(init.code, init.message, init.details);
    this.status = init.status;
    this.reason = init.reason;
    this.policyName = init.policyName;
  }
}

/** Reads `{"error":{"code","message","details"}}` (docs/API_REFERENCE.md) back into an ApiError. */
export async function toApiError(response: Response, policyName?: string): Promise<ApiError> {
  const text = await response.text().catch(() => "");
  const body = parseErrorBody(text);
  const reason = body?.code ?? (response.statusText || `HTTP ${response.status}`);
  return new ApiError({
    code: body && isErrorCode(body.code) ? body.code : codeForBarePage(response.status),
    reason,
    message: body?.message ?? (text.trim().slice(0, 200) || `HTTP ${response.status}`),
    details: body?.details ?? [],
    status: response.status,
    policyName,
  });
}

interface ErrorBody {
  code: string;
  message: string;
  details: FieldIssue[];
}

function parseErrorBody(text: string): ErrorBody | undefined {
  try {
    const error = (JSON.parse(text) as { error?: Partial<ErrorBody> } | null)?.error;
    if (typeof error?.code !== "string" || typeof error.message !== "string") return undefined;
    const details = Array.isArray(error.details) ? error.details.filter(isFieldIssue) : [];
    return { code: error.code, message: error.message, details };
  } catch {
    return undefined;
  }
}

function isFieldIssue(value: unknown): value is FieldIssue {
  const issue = value as Partial<FieldIssue> | null;
  return typeof issue?.path === "string" && typeof issue.message === "string";
}

/**
 * The control plane could not be asked at all: refused, unresolvable, timed out. The message names
 * the address and the flag that sets it.
 */
export function unreachable(baseUrl: string, err: unknown, timeoutMs: number): HfiError {
  const flags = "--control-plane-addr or HFI_CONTROL_PLANE_ADDR";
  if (isTimeout(err)) {
    return new HfiError(
      "Unavailable",
      `the control plane at ${baseUrl} did not answer within ${formatMs(timeoutMs)}; raise --timeout, or check ${flags}`,
    );
  }
  const code = errorCode(err);
  const why =
    code === "ECONNREFUSED" || code === "ConnectionRefused"
      ? "connection refused"
      : code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "DNSError"
        ? "host not found"
        : (code ?? innermostMessage(err));
  return new HfiError(
    "Unavailable",
    `cannot connect to the control plane at ${baseUrl} (${why}); is \`hfi serve\` running there? Set ${flags} to its address`,
  );
}

/** Node's fetch says only "fetch failed"; the reason is in its cause. */
function innermostMessage(err: unknown): string {
  let e = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === "TimeoutError" || errorCode(err) === "ETIMEDOUT");
}

/** Bun puts the code on the error, Node's fetch (undici) on its cause. */
function errorCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 4; i++) {
    if (typeof e.code === "string") return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
