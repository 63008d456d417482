/** Shared shape of benchmark results and their Markdown rendering. */
export interface BenchContext {
  quick: boolean;
}

export interface BenchRow {
  figure: string;
  median: number;
  p99: number;
  target: string;
}

export interface BenchResult {
  samples: Record<string, number[]>;
  rows: BenchRow[];
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export function summarize(values: number[]): { median: number; p99: number } {
  return { median: round(percentile(values, 50)), p99: round(percentile(values, 99)) };
}

const round = (n: number) => Math.round(n * 100) / 100;

export function toMarkdown(results: Record<string, BenchResult>): string {
  const lines = ["| benchmark | figure | median | p99 | target |", "|---|---|---|---|---|"];
  for (const [name, result] of Object.entries(results)) {
    for (const row of result.rows) {
      lines.push(`| ${name} | ${row.figure} | ${row.median} | ${row.p99} | ${row.target} |`);
    }
  }
  return `${lines.join("\n")}\n`;
}
