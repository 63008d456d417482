/** Shared shape of benchmark results, their statistics and their Markdown rendering. */
export interface BenchContext {
  /** One round, short durations: a smoke run that still writes valid results. */
  quick: boolean;
}

/** A target from bench/README.md: the figure must be at most / at least `bound`. */
export interface Target {
  op: "<=" | ">=";
  bound: number;
}

export interface BenchRow {
  figure: string;
  /** The reported figure (median across rounds, or the single measurement); null = not available. */
  value: number | null;
  /** Spread across rounds (absent for a single measurement). */
  min?: number;
  max?: number;
  unit: string;
  /** Target text as in bench/README.md, or "—" where it sets none. */
  target: string;
  /** Whether the value meets the target; null without a target or without a value. */
  met: boolean | null;
  /** Why a value is missing, or what it depends on. */
  note?: string;
}

export interface BenchResult {
  /** Parameters the run used (durations, rounds, rule shapes, …). */
  params: Record<string, unknown>;
  /** Exact command lines of the processes the benchmark started (Envoy, wrk, hfi, …). */
  commands: string[];
  /** Raw samples, per round where there are rounds. */
  samples: Record<string, unknown>;
  rows: BenchRow[];
  /** Cause and proposed fix, by figure, for rows that missed their target (filled in by the benchmark). */
  missed?: Record<string, string>;
  /** Free-form remarks printed under the table (e.g. what a figure includes). */
  notes?: string[];
  /** Markdown with more detail than the rows (e.g. a per-variant table), printed under the benchmark's heading. */
  details?: string;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export const median = (values: number[]) => percentile(values, 50);

/** Rounds for display; keeps 3 significant decimals for small ratios and µs figures. */
export function round(n: number): number {
  if (!Number.isFinite(n)) return n;
  const abs = Math.abs(n);
  const digits = abs >= 100 ? 1 : abs >= 1 ? 2 : 3;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function check(value: number, target: Target): boolean {
  return target.op === "<=" ? value <= target.bound : value >= target.bound;
}

const targetText = (t: Target) => `${t.op === "<=" ? "≤" : "≥"} ${t.bound}`;

/**
 * A row from per-round values: the median is the figure, min–max the spread. With a target, `met`
 * says whether the median meets it. No values (or only NaN) gives a "not available" row.
 */
export function roundsRow(
  figure: string,
  values: number[],
  unit: string,
  target?: Target,
  note?: string,
): BenchRow {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return unavailableRow(figure, unit, target, note ?? "not available");
  const value = round(median(finite));
  return {
    figure,
    value,
    ...(finite.length > 1 && { min: round(Math.min(...finite)), max: round(Math.max(...finite)) }),
    unit,
    target: target ? targetText(target) : "—",
    met: target ? check(value, target) : null,
    ...(note && { note }),
  };
}

/** A row from a single measurement. */
export function valueRow(
  figure: string,
  value: number,
  unit: string,
  target?: Target,
  note?: string,
): BenchRow {
  return {
    figure,
    value: round(value),
    unit,
    target: target ? targetText(target) : "—",
    met: target ? check(value, target) : null,
    ...(note && { note }),
  };
}

export function unavailableRow(
  figure: string,
  unit: string,
  target: Target | undefined,
  note: string,
): BenchRow {
  return { figure, value: null, unit, target: target ? targetText(target) : "—", met: null, note };
}

function formatValue(row: BenchRow): string {
  if (row.value === null) return "n/a";
  return `${row.value}`;
}

function formatRange(row: BenchRow): string {
  return row.min !== undefined && row.max !== undefined ? `${row.min}–${row.max}` : "";
}

function formatMet(row: BenchRow): string {
  if (row.met === null) return row.value === null ? "n/a" : "—";
  return row.met ? "yes" : "**no**";
}

/** One table over every benchmark: figure, value, min–max, unit, target, met, note. */
export function toMarkdown(results: Record<string, BenchResult>): string {
  const lines = [
    "| benchmark | figure | value | min–max | unit | target | met | note |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const [name, result] of Object.entries(results)) {
    for (const row of result.rows) {
      const cells = [
        name,
        row.figure,
        formatValue(row),
        formatRange(row),
        row.unit,
        row.target,
        formatMet(row),
        row.note ?? "",
      ];
      lines.push(`| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The rows that missed their target, with where the benchmark's explanation of each is. */
export function missedTargets(results: Record<string, BenchResult>): string {
  const parts: string[] = [];
  for (const [name, result] of Object.entries(results)) {
    for (const row of result.rows) {
      if (row.met !== false) continue;
      const cause =
        result.missed?.[row.figure] ??
        `No analysis recorded by the benchmark; see its notes in the ${name} section.`;
      parts.push(`### ${name}: ${row.figure} = ${row.value} (target ${row.target})\n\n${cause}\n`);
    }
  }
  return parts.length > 0 ? parts.join("\n") : "None.\n";
}
