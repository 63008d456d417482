/** Line charts as inline SVG: no library, no inline style (the page's CSP allows none). */

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const HEIGHT = 180;
const PAD = { left: 48, right: 12, top: 12, bottom: 24 };

export interface Series {
  label: string;
  /** A CSS class that colours its line (console.css). */
  className: string;
  /** Seconds since the chart's start, and the value then; null where there is none. */
  points: [number, number | null][];
}

export interface Band {
  label: string;
  className: string;
  from: number;
  to: number;
}

export interface ChartOptions {
  title: string;
  /** Said under the title: what the lines and bands are. */
  legend: string;
  unit: string;
  series: Series[];
  /** Phases shaded behind the lines. */
  bands: Band[];
  /** Horizontal lines, e.g. a stop condition's threshold. */
  thresholds: { label: string; value: number }[];
  /** The time axis' end, seconds. */
  until: number;
}

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number>,
  ...children: (SVGElement | string)[]
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

/** A chart with its title, the series as lines, phases as bands and thresholds as dashed lines. */
export function lineChart({
  title,
  legend,
  unit,
  series,
  bands,
  thresholds,
  until,
}: ChartOptions): HTMLElement {
  const values = [
    ...series.flatMap((s) => s.points.map(([, v]) => v).filter((v): v is number => v !== null)),
    ...thresholds.map((t) => t.value),
  ];
  const top = Math.max(1e-9, ...values) * 1.1;
  const span = Math.max(until, 1);
  const x = (t: number) => PAD.left + (t / span) * (WIDTH - PAD.left - PAD.right);
  const y = (v: number) => HEIGHT - PAD.bottom - (v / top) * (HEIGHT - PAD.top - PAD.bottom);
  const label = `${title} (${unit})`;
  const figure = document.createElement("figure");
  const caption = document.createElement("figcaption");
  caption.append(label, document.createElement("br"), legend);
  const chart = svg(
    "svg",
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": label, class: "chart" },
    svg("title", {}, label),
    ...bands.map((band) =>
      svg(
        "rect",
        {
          class: band.className,
          x: x(band.from),
          y: PAD.top,
          width: Math.max(0, x(band.to) - x(band.from)),
          height: HEIGHT - PAD.top - PAD.bottom,
        },
        svg("title", {}, band.label),
      ),
    ),
    svg("line", { class: "axis", x1: PAD.left, x2: WIDTH - PAD.right, y1: y(0), y2: y(0) }),
    svg("text", { class: "tick", x: PAD.left - 6, y: y(0) + 4, "text-anchor": "end" }, "0"),
    svg("text", { class: "tick", x: PAD.left - 6, y: PAD.top + 10, "text-anchor": "end" }, format(top)),
    svg(
      "text",
      { class: "tick", x: WIDTH - PAD.right, y: HEIGHT - 6, "text-anchor": "end" },
      `${Math.round(span)} s`,
    ),
    ...thresholds.map((threshold) =>
      svg(
        "line",
        {
          class: "threshold",
          "data-threshold": threshold.value,
          x1: PAD.left,
          x2: WIDTH - PAD.right,
          y1: y(threshold.value),
          y2: y(threshold.value),
        },
        svg("title", {}, threshold.label),
      ),
    ),
    ...series.map((s) =>
      svg(
        "polyline",
        {
          class: s.className,
          "data-series": s.label,
          "data-points": s.points.filter(([, v]) => v !== null).length,
          points: s.points
            .filter((point): point is [number, number] => point[1] !== null)
            .map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`)
            .join(" "),
        },
        svg("title", {}, s.label),
      ),
    ),
  );
  figure.append(chart, caption);
  return figure;
}

function format(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 1 ? value.toFixed(1) : value.toFixed(3);
}
