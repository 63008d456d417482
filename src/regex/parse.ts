import { type Expression, JS, type NoParent, TooManyNodesError } from "refa";

/** Longest regex source accepted, in UTF-16 code units. */
export const MAX_REGEX_LENGTH = 1024;
/** refa AST nodes allowed while parsing (counted repetitions such as `a{1000}` are expanded). */
const MAX_AST_NODES = 10_000;
/** RE2's whole-pattern case-insensitivity flag; the only inline flag accepted, and only in front. */
const IGNORE_CASE_PREFIX = "(?i)";

export type ParsedRegex =
  | { success: true; expression: NoParent<Expression> }
  | { success: false; message: string };

/** The few members of a regexpp AST node this module reads. */
interface SyntaxNode {
  type: string;
  kind?: string;
  raw: string;
  start: number;
  end: number;
  alternatives?: SyntaxNode[];
  elements?: SyntaxNode[];
  element?: SyntaxNode;
}

/**
 * Parses a regex in the RE2-compatible subset of JavaScript's Unicode-mode syntax into a refa AST
 * over code points, full-match semantics. Refused with a reason: syntax errors, backreferences,
 * lookaround, word boundaries, and `^`/`$` anywhere but the very start/end of a top-level alternative
 * (where they are no-ops, since every match is a full match).
 */
export function parseRegex(source: string): ParsedRegex {
  if (source.length > MAX_REGEX_LENGTH) {
    return { success: false, message: `must be at most ${MAX_REGEX_LENGTH} characters` };
  }
  const ignoreCase = source.startsWith(IGNORE_CASE_PREFIX);
  const flags = ignoreCase ? "iu" : "u";
  const body = ignoreCase ? source.slice(IGNORE_CASE_PREFIX.length) : source;
  try {
    const parser = JS.Parser.fromLiteral({ source: body, flags });
    const pattern = parser.ast.pattern as unknown as SyntaxNode;
    const anchors = edgeAnchors(pattern);
    const problem = findUnsupported(pattern, anchors);
    if (problem) return { success: false, message: problem };
    const anchorless = cutAnchors(body, anchors);
    const { expression } = JS.Parser.fromLiteral({ source: anchorless, flags }).parse({
      backreferences: "throw",
      assertions: "throw",
      maxNodes: MAX_AST_NODES,
    });
    return { success: true, expression };
  } catch (err) {
    if (err instanceof TooManyNodesError) return { success: false, message: tooLarge() };
    if (err instanceof SyntaxError) return { success: false, message: syntaxMessage(err, source) };
    throw err;
  }
}

function tooLarge(): string {
  return "is too complex: its counted repetitions expand beyond what the filter can hold";
}

/** regexpp says `Invalid regular expression: /src/u: Unterminated group`; keep the reason, quote the source. */
function syntaxMessage(err: SyntaxError, source: string): string {
  const reason = err.message.replace(/^Invalid regular expression: \/[\s\S]*\/[a-z]*: /, "");
  return `is not a valid regular expression ${JSON.stringify(source)}: ${reason}`;
}

/** The `^` opening and `$` closing each top-level alternative: no-ops under full-match semantics. */
function edgeAnchors(pattern: SyntaxNode): Set<SyntaxNode> {
  const anchors = new Set<SyntaxNode>();
  for (const { elements = [] } of pattern.alternatives ?? []) {
    const first = elements[0];
    const last = elements[elements.length - 1];
    if (first?.type === "Assertion" && first.kind === "start") anchors.add(first);
    if (last?.type === "Assertion" && last.kind === "end") anchors.add(last);
  }
  return anchors;
}

/** The first construct the DFA compiler cannot honour, as a message, or undefined. */
function findUnsupported(node: SyntaxNode, allowed: Set<SyntaxNode>): string | undefined {
  if (node.type === "Backreference") {
    return `uses the backreference ${node.raw}: backreferences are not regular and are not supported`;
  }
  if (node.type === "Assertion" && !allowed.has(node)) return unsupportedAssertion(node);
  if (node.type === "CharacterClass") return undefined;
  const children = [
    ...(node.alternatives ?? []),
    ...(node.elements ?? []),
    ...(node.element ? [node.element] : []),
  ];
  for (const child of children) {
    const problem = findUnsupported(child, allowed);
    if (problem) return problem;
  }
  return undefined;
}

function unsupportedAssertion(node: SyntaxNode): string {
  switch (node.kind) {
    case "lookahead":
    case "lookbehind":
      return `uses the lookaround ${node.raw}: lookahead and lookbehind are not supported`;
    case "word":
      return `uses the word boundary ${node.raw}: word boundaries are not supported`;
    default:
      return `uses ${node.raw} inside the pattern: "^" may only start and "$" only end a top-level alternative (matching is always against the whole value)`;
  }
}

/** The source with the given one-character anchors cut out. */
function cutAnchors(body: string, anchors: Set<SyntaxNode>): string {
  let result = body;
  const starts = [...anchors].map((anchor) => anchor.start).sort((a, b) => b - a);
  for (const at of starts) result = result.slice(0, at) + result.slice(at + 1);
  return result;
}
