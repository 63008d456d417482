import { HfiError } from "../errors.ts";
import { type Policy, type PolicyParseResult, parsePolicyDocument } from "../policy/index.ts";
import {
  compileRegex,
  isRegexCompiled,
  type RegexResult,
  rememberRegex,
  withCompileBudget,
} from "../regex/index.ts";

/**
 * Time one request may spend compiling regexes. Refusing a regex whose DFA would be too large can
 * take a few hundred milliseconds, and a policy may hold 33 of them.
 */
export const REGEX_COMPILE_BUDGET_MS = 2000;
/** A validation that has not answered by then is abandoned: its worker is ended and replaced. */
const HARD_TIMEOUT_MS = REGEX_COMPILE_BUDGET_MS + 10_000;
/** Worker threads busy at once; more jobs wait their turn. */
const MAX_WORKERS = 2;

/** What a worker is asked: validate a document, or compile the regexes of stored policies. */
export type WorkerRequest =
  | { kind: "validate"; text: string; contentType: string | undefined }
  | { kind: "compile"; sources: string[] };

export interface WorkerAnswer {
  /** For `validate`. */
  result?: PolicyParseResult;
  /** The regexes compiled, for the cache of the thread that compiles the RuleSet. */
  regexes: [string, RegexResult][];
}

/** Does what a worker is asked. Runs in the worker (or, under Node.js, in the event loop). */
export function answer(request: WorkerRequest): WorkerAnswer {
  if (request.kind === "compile") return { regexes: compiled(request.sources) };
  const { text, contentType } = request;
  const result = withCompileBudget(REGEX_COMPILE_BUDGET_MS, () => parsePolicyDocument(text, contentType));
  return { result, regexes: result.success ? compiled(regexSources(result.output)) : [] };
}

function compiled(sources: string[]): [string, RegexResult][] {
  return sources.map((source) => [source, compileRegex(source)]);
}

function regexSources(policy: Policy): string[] {
  const { path, headers = [] } = policy.spec.match ?? {};
  return [path?.regex, ...headers.map((header) => header.regex)].filter(
    (source): source is string => source !== undefined,
  );
}

interface Job {
  request: WorkerRequest;
  /** Stored policies' regexes passed validation once: compiling them has no deadline. */
  timeoutMs: number | undefined;
  resolve(answer: WorkerAnswer): void;
  reject(err: Error): void;
}

const idle: Worker[] = [];
const queue: Job[] = [];
let busy = 0;

/**
 * Parses and validates a policy document off the event loop, so that health checks and config polls
 * answer at once while a hostile document is being refused. The compiled regexes come back into
 * this thread's cache, so compiling the RuleSet afterwards finds them there. Under Node.js (whose
 * bundle carries no worker script) it validates in this thread, within the same budget.
 */
export async function validatePolicyDocument(
  text: string,
  contentType: string | undefined,
): Promise<PolicyParseResult> {
  const { result } = await ask({ kind: "validate", text, contentType }, HARD_TIMEOUT_MS);
  return result as PolicyParseResult;
}

/**
 * Compiles, in a worker, the regexes of `policies` that this thread has not compiled yet, so that
 * compiling the RuleSet (the Distributor's `beforeCompile`) finds them all in the cache.
 */
export async function precompileRegexes(policies: readonly Policy[]): Promise<void> {
  const sources = [...new Set(policies.flatMap(regexSources))].filter((source) => !isRegexCompiled(source));
  if (sources.length > 0) await ask({ kind: "compile", sources }, undefined);
}

async function ask(request: WorkerRequest, timeoutMs: number | undefined): Promise<WorkerAnswer> {
  const reply =
    typeof Bun === "undefined"
      ? answer(request)
      : await new Promise<WorkerAnswer>((resolve, reject) => {
          queue.push({ request, timeoutMs, resolve, reject });
          runQueued();
        });
  for (const [source, result] of reply.regexes) rememberRegex(source, result);
  return reply;
}

function runQueued(): void {
  while (queue.length > 0 && busy < MAX_WORKERS) {
    const job = queue.shift() as Job;
    busy++;
    run(idle.pop() ?? spawn(), job);
  }
}

function spawn(): Worker {
  const worker = new Worker(new URL("./policy-validation-worker.ts", import.meta.url).href);
  worker.unref();
  return worker;
}

function run(worker: Worker, job: Job): void {
  const { timeoutMs } = job;
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          finish(false);
          job.reject(
            new HfiError("InvalidInput", `the policy could not be validated within ${timeoutMs} ms`, [
              { path: "", message: `took longer than ${timeoutMs} ms to validate` },
            ]),
          );
        }, timeoutMs);
  function finish(keep: boolean): void {
    clearTimeout(timer);
    worker.onmessage = null;
    worker.onerror = null;
    busy--;
    if (keep) idle.push(worker);
    else worker.terminate();
    runQueued();
  }
  worker.onmessage = ({ data }: MessageEvent<WorkerAnswer>) => {
    finish(true);
    job.resolve(data);
  };
  worker.onerror = (event) => {
    finish(false);
    job.reject(new Error(`policy validation worker failed: ${event.message}`));
  };
  worker.postMessage(job.request);
}
