/**
 * The doc-test's view of Markdown: fenced code blocks with their info string and line number, and the
 * shell blocks marked to run (CONTRIBUTING.md, "Docs that run"). A `doctest` token that is not one of
 * the forms below is an error, so a typo fails the test instead of silently leaving a block out.
 */

export interface Fence {
  /** 1-based line of the opening fence. */
  line: number;
  /** The info string's words: language first, then attributes. */
  info: string[];
  /** The lines between the fences, with the fence's indentation removed. */
  lines: string[];
}

/**
 * `demo`: against the stack `npm run demo` leaves running, which the test starts first in the
 * session's own network namespace. `isolated`: everything the blocks start themselves.
 */
export type DoctestMode = "demo" | "isolated";

/** One unit the doc-test runs and reports on. */
export interface Step {
  /** `script`: a `sh` block run as it is. `command`: one `$ ` command of a `console` block. */
  kind: "script" | "command";
  /** Where it is, as `FILE:LINE`. */
  where: string;
  /** Shell text; a `console` command keeps its continuation and heredoc lines. */
  text: string;
  /** Lines its output must contain, in this order (console blocks only; `…` lines left out). */
  expected: string[];
}

export interface DoctestBlock {
  where: string;
  mode: DoctestMode;
  steps: Step[];
}

const FENCE = /^( *)(`{3,}|~{3,})(.*)$/;
const SHELL_LANGUAGES = new Set(["sh", "bash", "shell"]);
/** A line standing for output left out. */
const ELISION = /^(…|\.\.\.)$/;

export function parseFences(markdown: string): Fence[] {
  const fences: Fence[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const [, indent = "", marker = "", info = ""] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = FENCE.exec(lines[j]!);
      if (
        close &&
        close[2]![0] === marker[0] &&
        close[2]!.length >= marker.length &&
        close[3]!.trim() === ""
      ) {
        break;
      }
      body.push(lines[j]!.startsWith(indent) ? lines[j]!.slice(indent.length) : lines[j]!.trimStart());
    }
    fences.push({ line: i + 1, info: info.trim().split(/\s+/).filter(Boolean), lines: body });
    i = j;
  }
  return fences;
}

/** The blocks of `markdown` marked `doctest` or `doctest=isolated`, in document order. */
export function extractDoctests(markdown: string, file: string): DoctestBlock[] {
  const blocks: DoctestBlock[] = [];
  for (const fence of parseFences(markdown)) {
    const where = `${file}:${fence.line}`;
    const marks = fence.info.slice(1).filter((word) => word.startsWith("doctest"));
    if (marks.length === 0) continue;
    const mode = modeOf(marks, where);
    const language = fence.info[0] ?? "";
    if (SHELL_LANGUAGES.has(language)) {
      const text = fence.lines.join("\n");
      blocks.push({ where, mode, steps: [{ kind: "script", where, text, expected: [] }] });
    } else if (language === "console") {
      blocks.push({ where, mode, steps: consoleSteps(fence, file) });
    } else {
      throw new Error(`${where}: doctest blocks must be sh, bash, shell or console, not "${language}"`);
    }
  }
  return blocks;
}

function modeOf(marks: string[], where: string): DoctestMode {
  if (marks.length === 1 && marks[0] === "doctest") return "demo";
  if (marks.length === 1 && marks[0] === "doctest=isolated") return "isolated";
  throw new Error(`${where}: unknown doctest marker "${marks.join(" ")}" (use doctest or doctest=isolated)`);
}

/**
 * `$ command` lines (a trailing `\` continues a command; a heredoc runs to its terminator), each
 * followed by the output it must show. Lines before the first `$ ` are an error.
 */
function consoleSteps(fence: Fence, file: string): Step[] {
  const steps: Step[] = [];
  const { lines } = fence;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const where = `${file}:${fence.line + 1 + i}`;
    if (!line.startsWith("$ ")) {
      const step = steps.at(-1);
      if (!step) throw new Error(`${where}: a console doctest block starts with "$ command"`);
      if (line.trim() !== "" && !ELISION.test(line.trim())) step.expected.push(line.trim());
      continue;
    }
    const command = [line.slice(2)];
    while (command.at(-1)!.endsWith("\\") && i + 1 < lines.length) command.push(lines[++i]!);
    const heredoc = /<<-?\s*(['"]?)(\w+)\1/.exec(command.join("\n"));
    if (heredoc) {
      while (i + 1 < lines.length && lines[i]!.trim() !== heredoc[2]) command.push(lines[++i]!);
    }
    steps.push({ kind: "command", where, text: command.join("\n"), expected: [] });
  }
  return steps;
}

/**
 * Where `expected` fails to appear in `output`, in order: each expected line is found in a later
 * output line than the one before, as a substring, where `…` inside it stands for any text (so
 * `200 after 2.…s` matches `200 after 2.004117s`). Undefined when it all appears.
 */
export function findMissingLine(output: string, expected: string[]): string | undefined {
  const lines = output.split("\n");
  let at = 0;
  for (const want of expected) {
    while (at < lines.length && !containsInOrder(lines[at]!, want.split("…"))) at++;
    if (at === lines.length) return want;
    at++;
  }
  return undefined;
}

function containsInOrder(line: string, parts: string[]): boolean {
  let from = 0;
  for (const part of parts) {
    const found = line.indexOf(part, from);
    if (found < 0) return false;
    from = found + part.length;
  }
  return true;
}
