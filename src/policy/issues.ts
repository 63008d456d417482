import type { BaseIssue } from "valibot";

/** One problem with one field of a document; `path` is like `spec.match.headers[0].name`, "" for the whole document. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** Turns valibot issues into field issues with kubectl-style paths. */
export function toFieldIssues(issues: readonly BaseIssue<unknown>[]): FieldIssue[] {
  return issues.map((issue) => ({
    path: fieldPath((issue.path ?? []).map(({ key }) => key as string | number)),
    message: issue.message,
  }));
}

/** Keys that read unambiguously after a dot; any other key (an unknown field "" or "a.b") is quoted in brackets. */
const PLAIN_KEY = /^[A-Za-z_$][\w$]*$/;

/** Keys from the document's root, as a kubectl-style path: `spec.match.headers[0].name`. */
export function fieldPath(keys: readonly (string | number)[]): string {
  let path = "";
  for (const key of keys) {
    if (typeof key === "number") path += `[${key}]`;
    else if (!PLAIN_KEY.test(String(key))) path += `[${JSON.stringify(String(key))}]`;
    else path += path === "" ? String(key) : `.${String(key)}`;
  }
  return path;
}
