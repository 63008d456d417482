import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { text } from "node:stream/consumers";
import { parseAllDocuments } from "yaml";
import { type Policy, validatePolicy } from "../../policy/index.ts";
import { CommandError } from "./errors.ts";

/** One validated policy and where it was written. */
export interface PolicyDocument {
  policy: Policy;
  /** File name, or `<stdin>`. */
  source: string;
  /** 1-based position of the document in its source. */
  document: number;
}

interface Source {
  name: string;
  text: string;
}

const EXTENSIONS = /\.(?:ya?ml|json)$/i;
/** Lists, as `hfi policy get -o yaml|json` prints them and kubectl writes them. */
const LIST_KINDS = new Set(["FaultInjectionPolicyList", "List"]);

/**
 * Reads `-f FILE|DIR|-` and validates every document with the API's own schema. Any problem in any
 * document fails the whole load, naming file, document and field, so nothing is sent.
 */
export async function loadPolicyDocuments(target: string): Promise<PolicyDocument[]> {
  const sources = await readSources(target);
  const documents: PolicyDocument[] = [];
  const problems: string[] = [];
  for (const source of sources) {
    const parsed = parseSource(source);
    documents.push(...parsed.documents);
    problems.push(...parsed.problems);
  }
  if (problems.length > 0) {
    const what = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    throw new CommandError(
      `error validating ${describeTarget(target)}: ${what}, nothing was applied`,
      "InvalidInput",
      problems,
    );
  }
  if (documents.length === 0) throw new CommandError("no objects passed to apply");
  return documents;
}

function describeTarget(target: string): string {
  return target === "-" ? "<stdin>" : `"${target}"`;
}

async function readSources(target: string): Promise<Source[]> {
  if (target === "-") return [{ name: "<stdin>", text: await text(process.stdin) }];
  const info = await stat(target).catch(() => undefined);
  if (!info) throw new CommandError(`the path "${target}" does not exist`, "NotFound");
  if (!info.isDirectory()) return [{ name: target, text: await readFile(target, "utf8") }];
  const names = (await readdir(target)).filter((name) => EXTENSIONS.test(name)).sort();
  return Promise.all(
    names.map(async (name) => ({
      name: join(target, name),
      text: await readFile(join(target, name), "utf8"),
    })),
  );
}

/** YAML streams (`---`-separated) and JSON alike: JSON is YAML. Empty documents are skipped. */
function parseSource({ name, text }: Source): { documents: PolicyDocument[]; problems: string[] } {
  const documents: PolicyDocument[] = [];
  const problems: string[] = [];
  parseAllDocuments(text).forEach((doc, i) => {
    const where = `${name}: document ${i + 1}`;
    const [syntax] = doc.errors;
    if (syntax) {
      problems.push(`${where}: malformed document: ${syntax.message.split("\n")[0]}`);
      return;
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return;
    for (const { path, item } of expandList(value)) {
      const result = validatePolicy(item);
      if (result.success) {
        documents.push({ policy: result.output, source: name, document: i + 1 });
        continue;
      }
      const label = objectName(item) ? `${where} ("${objectName(item)}")` : where;
      for (const issue of result.issues) {
        const field = [path, issue.path].filter(Boolean).join(".");
        problems.push(`${label}: ${field ? `${field}: ` : ""}${issue.message}`);
      }
    }
  });
  return { documents, problems };
}

function expandList(value: unknown): { path: string; item: unknown }[] {
  const list = value as { kind?: unknown; items?: unknown };
  if (typeof list.kind === "string" && LIST_KINDS.has(list.kind) && Array.isArray(list.items)) {
    return list.items.map((item, i) => ({ path: `items[${i}]`, item }));
  }
  return [{ path: "", item: value }];
}

function objectName(value: unknown): string | undefined {
  const name = (value as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  return typeof name === "string" && name !== "" ? name : undefined;
}
