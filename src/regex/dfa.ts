import { DFA, type Expression, NFA, type NoParent, TooManyNodesError } from "refa";
import { toByteAst } from "./utf8.ts";

/**
 * A regular expression compiled by the control plane to a minimised DFA over the UTF-8 bytes of the
 * input, with full-match semantics: walk every byte from state 0, match if the final state is accepting.
 * The filter never sees regex syntax.
 */
export interface Dfa {
  /** Equivalence class of each byte value: exactly 256 entries, each in [0, classCount). */
  byteClasses: number[];
  classCount: number;
  /** Row-major `states × classCount`: next state for (state, class), or -1 for the dead state. */
  transitions: number[];
  /** Accepting state ids. State 0 is the start state. */
  accepting: number[];
}

/**
 * Most states a compiled regex may have after minimisation, the dead state not counted. Typical
 * regexes need tens (`/api/v[0-9]+/users/[^/]+`: 23); `.{0,100}` needs 1001 (a UTF-8 character is up
 * to four bytes), `(a|b)*a(a|b){9}` exactly 1024. A table never exceeds 1024 × 256 entries.
 */
export const MAX_DFA_STATES = 1024;
/** Construction limits, so that a regex which would blow up is refused quickly rather than built. */
const MAX_NFA_NODES = 10_000;
const MAX_UNMINIMISED_DFA_STATES = 5_000;
const BYTE_VALUES = 256;

export type DfaResult = { success: true; dfa: Dfa } | { success: false; message: string };

/** Compiles a refa AST over code points into the minimised byte DFA of format.ts. */
export function buildDfa(expression: NoParent<Expression>): DfaResult {
  let dfa: DFA;
  try {
    const nfa = NFA.fromRegex(
      toByteAst(expression),
      { maxCharacter: BYTE_VALUES - 1 },
      { assertions: "throw", unknowns: "throw" },
      new NFA.LimitedNodeFactory(MAX_NFA_NODES),
    );
    dfa = DFA.fromFA(nfa, new DFA.LimitedNodeFactory(MAX_UNMINIMISED_DFA_STATES));
  } catch (err) {
    if (err instanceof TooManyNodesError) return tooComplex(`far more than ${MAX_DFA_STATES}`);
    throw err;
  }
  dfa.minimize();
  // Minimisation leaves at most one dead state, which the table does not count.
  if (dfa.countNodes() > MAX_DFA_STATES + 1) return tooComplex(`over ${MAX_DFA_STATES}`);
  const table = tabulate(dfa);
  const states = table.transitions.length / table.classCount;
  if (states > MAX_DFA_STATES) return tooComplex(String(states));
  return { success: true, dfa: table };
}

function tooComplex(states: string): DfaResult {
  return {
    success: false,
    message: `is too complex: its minimised DFA needs ${states} states, the limit is ${MAX_DFA_STATES}`,
  };
}

/**
 * The table form. States are numbered breadth-first from the start state, following bytes 0..255
 * in order; states that cannot reach an accepting state become -1; bytes that every state treats
 * alike share a class, numbered by their lowest byte. So equal languages give identical tables.
 */
function tabulate(dfa: DFA): Dfa {
  const live = liveStates(dfa);
  const ids = new Map<DFA.Node, number>([[dfa.initial, 0]]);
  const order: DFA.Node[] = [dfa.initial];
  for (let i = 0; i < order.length; i++) {
    const node = order[i] as DFA.Node;
    for (let byte = 0; byte < BYTE_VALUES; byte++) {
      const next = node.out.get(byte);
      if (next && live.has(next) && !ids.has(next)) {
        ids.set(next, order.length);
        order.push(next);
      }
    }
  }
  const target = (node: DFA.Node, byte: number): number => {
    const next = node.out.get(byte);
    return next ? (ids.get(next) ?? -1) : -1;
  };

  const classOf = new Map<string, number>();
  const byteClasses: number[] = [];
  const representatives: number[] = [];
  for (let byte = 0; byte < BYTE_VALUES; byte++) {
    const column = order.map((node) => target(node, byte)).join(",");
    let cls = classOf.get(column);
    if (cls === undefined) {
      cls = representatives.length;
      classOf.set(column, cls);
      representatives.push(byte);
    }
    byteClasses.push(cls);
  }
  const transitions = order.flatMap((node) => representatives.map((byte) => target(node, byte)));
  const accepting = order.flatMap((node, id) => (dfa.finals.has(node) ? [id] : []));
  return { byteClasses, classCount: representatives.length, transitions, accepting };
}

/** States from which some accepting state can be reached. */
function liveStates(dfa: DFA): Set<DFA.Node> {
  const incoming = new Map<DFA.Node, DFA.Node[]>();
  for (const node of dfa.nodes()) {
    for (const next of node.out.values()) {
      const sources = incoming.get(next) ?? [];
      sources.push(node);
      incoming.set(next, sources);
    }
  }
  const live = new Set<DFA.Node>(dfa.finals);
  const work = [...live];
  for (let node = work.pop(); node !== undefined; node = work.pop()) {
    for (const source of incoming.get(node) ?? []) {
      if (!live.has(source)) {
        live.add(source);
        work.push(source);
      }
    }
  }
  return live;
}

/** Full match of a byte string, exactly as the filter walks the table. */
export function matchDfa(dfa: Dfa, input: Uint8Array): boolean {
  let state = 0;
  for (const byte of input) {
    state = dfa.transitions[state * dfa.classCount + (dfa.byteClasses[byte] as number)] ?? -1;
    if (state < 0) return false;
  }
  return dfa.accepting.includes(state);
}
