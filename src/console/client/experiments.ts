import type { ExperimentList } from "../../api-types.ts";
import type { Experiment, ExperimentResults, ExperimentState, PhaseResult } from "../../experiments/index.ts";
import { api } from "./api.ts";
import { type Band, lineChart, type Series } from "./chart.ts";
import { confirmDialog } from "./dialog.ts";
import { h, present, table } from "./dom.ts";
import type { Page } from "./page.ts";

/** In progress first, then the ended ones. */
const STATE_ORDER: ExperimentState[] = ["Running", "Baseline", "Pending", "Completed", "Stopped", "Failed"];
const FINAL: ReadonlySet<ExperimentState> = new Set(["Completed", "Stopped", "Failed"]);
/** The charts' sampling period: the results are cumulative per phase, rates come from differences. */
const SAMPLE_MS = 1000;

/** Experiments grouped by state. */
export const experimentsPage: Page = (main) => {
  const body = h("div");
  main.append(h("h1", { tabindex: -1 }, "Experiments"), body);
  const refresh = async () => {
    const { items } = await api<ExperimentList>("GET", "/v1/experiments");
    body.replaceChildren(
      ...(items.length === 0
        ? [h("p", {}, "No experiments.")]
        : STATE_ORDER.flatMap((state) => {
            const inState = items.filter((e) => e.state === state).reverse();
            if (inState.length === 0) return [];
            return [
              h("h2", {}, `${state} (${inState.length})`),
              table(
                `${state} experiments`,
                [
                  "Name",
                  "ID",
                  "Reason",
                  "Created",
                  state === "Running" ? "Faults until" : "Ended",
                  "Stop conditions",
                ],
                inState.map((e) => [
                  h("a", { href: `#/experiments/${encodeURIComponent(e.id)}` }, e.name || e.id),
                  h("code", {}, e.id),
                  e.reason,
                  e.createdAt,
                  (state === "Running" ? e.endsAt : e.endedAt) ?? "-",
                  e.stopConditions.join("; ") || "-",
                ]),
              ),
            ];
          })),
    );
  };
  const timer = setInterval(() => void refresh().catch(() => {}), SAMPLE_MS * 2);
  return { refresh, dispose: () => clearInterval(timer) };
};

interface Sample {
  /** Seconds since the experiment was created. */
  t: number;
  phase: "baseline" | "running";
  result: PhaseResult;
}

/**
 * One experiment: its state and why, a Stop button while it runs, live charts of request rate, error
 * rate and latency p50/p99 over baseline, running and after, with its stop conditions' thresholds,
 * its state changes, and its results as JSON.
 */
export const experimentPage: Page = (main, context, id) => {
  const path = `/v1/experiments/${encodeURIComponent(id)}`;
  const heading = h("h1", { tabindex: -1 }, `Experiment ${id}`);
  const state = h("p", { class: "state", id: "experiment-state" });
  const actions = h("div", { class: "actions" });
  const charts = h("section", { "aria-labelledby": "charts-title" });
  const history = h("section", { "aria-labelledby": "history-title" });
  main.append(heading, state, actions, charts, history);
  const samples: Sample[] = [];
  let download: string | undefined;
  let downloadJson = "";
  let shownActions = "";

  const refresh = async () => {
    const [experiment, results] = await Promise.all([
      api<Experiment>("GET", path),
      api<ExperimentResults>("GET", `${path}/results`),
    ]);
    const created = Date.parse(experiment.createdAt);
    const t = (Date.now() - created) / 1000;
    const phase = results.phases.running ? "running" : results.phases.baseline ? "baseline" : undefined;
    const result = phase && results.phases[phase];
    if (phase && result && !FINAL.has(experiment.state)) samples.push({ t, phase, result });

    heading.textContent = `Experiment ${experiment.name || experiment.id}`;
    state.textContent = `${experiment.state}: ${experiment.reason}`;
    state.className = `state ${FINAL.has(experiment.state) ? "ended" : "running"}`;
    // A new file only when the results changed, so that a download in progress keeps its URL.
    const json = JSON.stringify(results, null, 2);
    if (json !== downloadJson) {
      if (download) URL.revokeObjectURL(download);
      download = URL.createObjectURL(new Blob([json], { type: "application/json" }));
      downloadJson = json;
    }
    const canStop = context.canWrite && !FINAL.has(experiment.state);
    // Redrawn only when they change, so that a click is not lost to the next sample.
    if (shownActions !== String(canStop)) {
      shownActions = String(canStop);
      actions.replaceChildren(
        ...present([
          canStop &&
            h(
              "button",
              {
                class: "danger",
                onclick: async () => {
                  const confirmed = await confirmDialog({
                    title: "Stop this experiment?",
                    message: "Its policies are deleted at once: every proxy stops injecting its faults.",
                    confirm: "Stop experiment",
                  });
                  if (confirmed === undefined) return;
                  await api("POST", `${path}/stop`);
                  context.announce("Experiment stopped");
                  await refresh();
                },
              },
              "Stop",
            ),
          h(
            "a",
            { class: "button secondary", id: "results-download", download: `experiment-${id}.json` },
            "Results (JSON)",
          ),
        ]),
      );
    }
    if (download) actions.querySelector("#results-download")?.setAttribute("href", download);
    charts.replaceChildren(...renderCharts(experiment, samples, t));
    history.replaceChildren(
      h("h2", { id: "history-title" }, "State changes"),
      table(
        "State changes",
        ["State", "Reason", "At"],
        experiment.history.map((change) => [change.state, change.reason, change.at]),
      ),
    );
  };
  const timer = setInterval(() => void refresh().catch(context.failed), SAMPLE_MS);
  return {
    refresh,
    dispose: () => {
      clearInterval(timer);
      if (download) URL.revokeObjectURL(download);
    },
  };
};

function renderCharts(experiment: Experiment, samples: Sample[], now: number): Node[] {
  const created = Date.parse(experiment.createdAt);
  const at = (time: string | undefined) => (time ? (Date.parse(time) - created) / 1000 : now);
  const { baseline, running } = experiment.phases;
  const bands: Band[] = [
    ...(baseline
      ? [
          {
            label: "baseline",
            className: "band-baseline",
            from: at(baseline.startedAt),
            to: at(baseline.endedAt),
          },
        ]
      : []),
    ...(running
      ? [
          {
            label: "running",
            className: "band-running",
            from: at(running.startedAt),
            to: at(running.endedAt),
          },
        ]
      : []),
    ...(experiment.endedAt
      ? [{ label: "after", className: "band-after", from: at(experiment.endedAt), to: now }]
      : []),
  ];
  const thresholds = experiment.stopConditions.map(parseStopCondition).filter((c) => c !== undefined);
  const rate: Series = {
    label: "requests per second",
    className: "line-1",
    points: samples.map((sample, i) => {
      const before = samples[i - 1];
      if (!before || before.phase !== sample.phase || sample.t <= before.t) return [sample.t, null];
      return [sample.t, (sample.result.requests - before.result.requests) / (sample.t - before.t)];
    }),
  };
  const thresholdsOf = (metrics: string[]) =>
    thresholds.filter((c) => metrics.includes(c.metric)).map((c) => ({ label: c.text, value: c.threshold }));
  return [
    h("h2", { id: "charts-title" }, "Traffic of its policies"),
    h(
      "p",
      { class: "hint" },
      "Sampled every second while this page is open; error rate and latency are over the phase so far, as the stop conditions see them.",
    ),
    h(
      "div",
      { class: "charts" },
      lineChart({
        title: "Request rate",
        legend: "Shaded: baseline (blue), running (red), after (green).",
        unit: "requests/s",
        series: [rate],
        bands,
        thresholds: [],
        until: now,
      }),
      lineChart({
        title: "Error rate",
        legend: "Dashed: the stop condition's threshold.",
        unit: "share of responses",
        series: [
          { label: "error rate", className: "line-2", points: samples.map((s) => [s.t, s.result.errorRate]) },
        ],
        bands,
        thresholds: thresholdsOf(["errorRate"]),
        until: now,
      }),
      lineChart({
        title: "Latency p50 and p99",
        legend: "p50 blue, p99 purple; dashed: a stop condition's threshold.",
        unit: "ms",
        series: [
          { label: "p50", className: "line-1", points: samples.map((s) => [s.t, s.result.latencyMs.p50]) },
          { label: "p99", className: "line-3", points: samples.map((s) => [s.t, s.result.latencyMs.p99]) },
        ],
        bands,
        thresholds: thresholdsOf(["latencyP50", "latencyP95", "latencyP99"]),
        until: now,
      }),
    ),
  ];
}

/** `errorRate>0.5 for 10s`, as the API writes a stop condition. */
function parseStopCondition(text: string): { metric: string; threshold: number; text: string } | undefined {
  const match = /^(\w+)>([0-9.eE+-]+)/.exec(text);
  return match?.[1] && match[2] ? { metric: match[1], threshold: Number(match[2]), text } : undefined;
}
