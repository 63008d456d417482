import type { BaseIssue } from "valibot";

/** One problem with one field of a document; `path` is like `spec.match.headers[0].name`, "" for the whole document. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** Turns valibot issues into field issues with kubectl-style paths. */
export function toFieldIssues(issues: readonly BaseIssue<unknown>[]): FieldIssue[] {
  return issues.map((issue) => ({ path: formatPath(issue.path ?? []), message: issue.message }));
}

/** Keys that read unambiguously after a dot; any other key (an unknown field "" or "a.b") is quoted in brackets. */
const PLAIN_KEY = /^[A-Za-z_$][\w$]*$/;

function formatPath(items: readonly { key: unknown }[]): string {
  let path = "";
  for (const { key } of items) {
    if (typeof key === "number") path += `[${key}]`;
    else if (!PLAIN_KEY.test(String(key))) path += `[${JSON.stringify(String(key))}]`;
    else path += path === "" ? String(key) : `.${String(key)}`;
  }
  return path;
}
