import { HfiError } from "../errors.ts";
import { type Policy, type PolicyParseResult, parsePolicyDocument } from "../policy/index.ts";
import { compileRegex, type RegexResult, rememberRegex, withCompileBudget } from "../regex/index.ts";

/**
 * Time one request may spend compiling regexes. Refusing a regex whose DFA would be too large can
 * take a few hundred milliseconds, and a policy may hold 33 of them.
 */
export const REGEX_COMPILE_BUDGET_MS = 2000;
/** A validation that has not answered by then is abandoned: its worker is ended and replaced. */
const HARD_TIMEOUT_MS = REGEX_COMPILE_BUDGET_MS + 10_000;
/** Worker threads validating at once; more requests wait their turn. */
const MAX_WORKERS = 2;

export interface ValidationRequest {
  text: string;
  contentType: string | undefined;
}

export interface ValidationAnswer {
  result: PolicyParseResult;
  /** The policy's regexes, compiled, for the cache of the thread that compiles the RuleSet. */
  regexes: [string, RegexResult][];
}

/** Parses and validates one policy document within the regex compile budget. Runs in a worker. */
export function validateDocument({ text, contentType }: ValidationRequest): ValidationAnswer {
  const result = withCompileBudget(REGEX_COMPILE_BUDGET_MS, () => parsePolicyDocument(text, contentType));
  const regexes = result.success
    ? regexSources(result.output).map((source): [string, RegexResult] => [source, compileRegex(source)])
    : [];
  return { result, regexes };
}

function regexSources(policy: Policy): string[] {
  const { path, headers = [] } = policy.spec.match ?? {};
  return [path?.regex, ...headers.map((header) => header.regex)].filter(
    (source): source is string => source !== undefined,
  );
}

interface Job {
  request: ValidationRequest;
  resolve(answer: ValidationAnswer): void;
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
  const request = { text, contentType };
  const answer =
    typeof Bun === "undefined"
      ? validateDocument(request)
      : await new Promise<ValidationAnswer>((resolve, reject) => {
          queue.push({ request, resolve, reject });
          runQueued();
        });
  for (const [source, result] of answer.regexes) rememberRegex(source, result);
  return answer.result;
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
  const finish = (keep: boolean) => {
    clearTimeout(timer);
    worker.onmessage = null;
    worker.onerror = null;
    busy--;
    if (keep) idle.push(worker);
    else worker.terminate();
    runQueued();
  };
  const timer = setTimeout(() => {
    finish(false);
    job.reject(
      new HfiError("InvalidInput", `the policy could not be validated within ${HARD_TIMEOUT_MS} ms`, [
        { path: "", message: `took longer than ${HARD_TIMEOUT_MS} ms to validate` },
      ]),
    );
  }, HARD_TIMEOUT_MS);
  worker.onmessage = ({ data }: MessageEvent<ValidationAnswer>) => {
    finish(true);
    job.resolve(data);
  };
  worker.onerror = (event) => {
    finish(false);
    job.reject(new Error(`policy validation worker failed: ${event.message}`));
  };
  worker.postMessage(job.request);
}
