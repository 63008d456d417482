/**
 * Propagation: time from the PUT response to the first faulted response through Envoy, and from the
 * DELETE response to the first healthy one. Real dist/hfi, real Envoy with the filter, loopback only.
 */
import { startLocalStack } from "../scripts/local-stack.ts";
import { type BenchContext, summarize } from "./report.ts";

export async function propagation(ctx: BenchContext) {
  const changes = ctx.quick ? 5 : 20;
  const stack = await startLocalStack({ concurrency: 2 });
  const applyMs: number[] = [];
  const deleteMs: number[] = [];
  const policyUrl = `${stack.controlPlaneUrl}/v1/policies/bench-abort`;
  const probe = () => fetch(`${stack.envoyUrl}/bench`, { method: "POST" }).then((r) => r.status);
  const firstStatus = async (status: number) => {
    const start = performance.now();
    while ((await probe()) !== status) {
      if (performance.now() - start > 10_000) throw new Error(`no ${status} within 10 s`);
    }
    return performance.now() - start;
  };
  try {
    for (let i = 0; i < changes; i++) {
      const body = JSON.stringify({
        apiVersion: "hfi.dev/v1alpha1",
        kind: "FaultInjectionPolicy",
        metadata: { name: "bench-abort" },
        spec: { match: { path: { prefix: "/bench" } }, fault: { abort: { httpStatus: 503 } } },
      });
      const put = await fetch(policyUrl, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body,
      });
      if (put.status !== 201) throw new Error(`PUT answered ${put.status}`);
      applyMs.push(await firstStatus(503));
      await fetch(policyUrl, { method: "DELETE" });
      deleteMs.push(await firstStatus(200));
    }
  } finally {
    await stack.stop();
  }
  return {
    samples: { applyMs, deleteMs },
    rows: [
      { figure: "PUT → first 503 via Envoy (ms, median / p99)", ...summarize(applyMs), target: "p99 ≤ 50" },
      {
        figure: "DELETE → first 200 via Envoy (ms, median / p99)",
        ...summarize(deleteMs),
        target: "p99 ≤ 50",
      },
    ],
  };
}
