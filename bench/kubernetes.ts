/**
 * Kubernetes as the store (bench/README.md, kubernetes): a real kube-apiserver on its own etcd
 * (test/support/kube-apiserver.ts), 2 `dist/hfi serve --store kubernetes` replicas and one Envoy
 * with 2 workers whose control-plane cluster is round-robin over both; beside it, for the baseline,
 * `dist/hfi serve` with the memory store and an Envoy of its own, set up the same way.
 *
 * - propagation: a FaultInjectionPolicy created through the API server (a POST to the resource's
 *   endpoint with a bearer token, what kubectl sends) → the first 503 on every worker; its DELETE →
 *   the first 200 on every worker. The baseline: a PUT / DELETE on the memory store's REST API. The
 *   two stacks take turns, the order rotated from change to change;
 * - `kubectl wait --for=condition=Propagated`: from the POST to kubectl's return, and the same wait
 *   on a policy already Propagated (what kubectl itself takes to start and read once);
 * - failover: `kill -9` (and SIGTERM) of the replica holding the Lease `hfi-leader` → the Lease
 *   names the other, with the default `--lease-ttl` (10 s) and the end-to-end tests' 3 s;
 * - start-up: spawning `hfi serve --store kubernetes` → `/readyz` answers 200, against `--store memory`;
 * - size: `dist/hfi` built from the commit before the Kubernetes store was merged and from HEAD
 *   (both from `git archive`, the same `scripts/build.ts`), and the bytes the Kubernetes modules
 *   take in the minified bundle (Bun.build's metafile).
 */
import { mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { $ } from "bun";
import { startEnvoy } from "../test/support/envoy.ts";
import {
  KUBECTL_BIN,
  KUBERNETES_VERSION,
  startTestKubeApiServer,
  type TestKubeApiServer,
} from "../test/support/kube-apiserver.ts";
import { renderEnvoyConfig } from "../test/support/local-stack.ts";
import { HFI_BIN, ROOT } from "../test/support/paths.ts";
import { policy } from "../test/support/policies.ts";
import { freePort, freePorts } from "../test/support/ports.ts";
import { type Spawned, spawnLogged, terminate, waitForUrl } from "../test/support/process.ts";
import { type HfiReplica, startHfiReplica } from "../test/support/replicas.ts";
import { machine } from "./machine.ts";
import { type BenchContext, type BenchResult, median, percentile, valueRow } from "./report.ts";
import { everyWorker, type PinnedWorker, pinWorkers } from "./workers.ts";

const REPLICAS = 2;
const WORKERS = 2;
const PROBE_PATH = "/bench/probe";
const POLICY_NAME = "bench-abort";
const SPEC = { match: { path: { prefix: "/bench" } }, fault: { abort: { httpStatus: 503 } } };
/** `hfi serve`'s default `--lease-ttl`, and the one test/e2e/kubernetes.e2e.test.ts runs replicas with. */
const LEASE_TTLS_SECONDS = [10, 3];
/** The merge that brought the Kubernetes store to main; its first parent is main without it. */
const KUBERNETES_MERGE = "^Merge issue-18 ";
/** Beyond the filter's poll wait (25 s), which bounds how long a replica's view of a proxy can lag. */
const WAIT_TIMEOUT_S = 60;
/** When the Propagated condition is read during a wait (the leader refreshes it once a second). */
const PENDING_AFTER_MS = 2000;
/** As propagation and fleet: a change on every worker within 50 ms. */
const PROPAGATION_TARGET = { op: "<=", bound: 50 } as const;
/** The leader refreshes Propagated once a second; kubectl's own start and read come on top. */
const WAIT_TARGET = { op: "<=", bound: 2000 } as const;
const DELETE_P99 = "DELETE resource → first 200 on every worker, p99";
const WAIT_P50 = "POST resource → `kubectl wait --for=condition=Propagated` returns, p50";

interface Change {
  index: number;
  /** Which stack went first in this change's round. */
  order: number;
  /** The POST/PUT or DELETE request → its answer. */
  apiMs: number;
  /** From sending the request to each worker's first response showing the change. */
  perWorkerMs: Record<string, number>;
  /** The last worker: the change is everywhere. */
  allMs: number;
}

interface Stack {
  workers: PinnedWorker[];
  apply(): Promise<Response>;
  remove(): Promise<Response>;
  applied: Change[];
  removed: Change[];
}

type Replica = HfiReplica;

interface Failover {
  leaseTtlSeconds: number;
  signal: "SIGKILL" | "SIGTERM";
  ms: number;
}

interface WaitRound {
  index: number;
  /** The wait returned with the condition met (not timed out). */
  met: boolean;
  /** POST → `kubectl wait --for=condition=Propagated` returned. */
  createdToReturnMs: number;
  /** The same wait on the policy once Propagated: kubectl's own start and one read. */
  alreadyMetMs: number;
  /** Whether every worker answered 503 to one probe once the wait returned (and 2 s had passed). */
  everyWorkerFaulted: boolean;
  /** The Propagated condition's message 2 s after the POST, and once the wait returned. */
  pendingMessage: string;
  message: string;
}

export async function kubernetes(ctx: BenchContext): Promise<BenchResult> {
  const changes = ctx.quick ? 5 : 30;
  const waits = ctx.quick ? 1 : 3;
  const failovers = ctx.quick ? 1 : 3;
  const startups = ctx.quick ? 2 : 5;
  const dir = mkdtempSync(join(tmpdir(), "hfi-bench-kubernetes-"));
  const commands: string[] = [];
  const children: Spawned[] = [];
  const workers: PinnedWorker[] = [];
  const upstream = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok\n") });
  let kube: TestKubeApiServer | undefined;
  let replicas: Replica[] = [];
  const stacks: Stack[] = [];
  const failover: Failover[] = [];
  const waitRounds: WaitRound[] = [];
  const startupMs: Record<"kubernetes" | "memory", number[]> = { kubernetes: [], memory: [] };

  const startReplica = async (namespace: string, port: number, extra: string[] = []): Promise<Replica> => {
    const store = {
      type: "kubernetes",
      kubeconfig: (kube as TestKubeApiServer).kubeconfig,
      namespace,
    } as const;
    const replica = await startHfiReplica({ port, store, logDir: dir, extraArgs: extra });
    commands.push(replica.spawned.command);
    children.push(replica.spawned);
    return replica;
  };

  const startPinnedEnvoy = async (label: string, cpPorts: number[]): Promise<PinnedWorker[]> => {
    const [envoyPort, adminPort] = (await freePorts(2)) as [number, number];
    const configFile = join(dir, `envoy-${label}.yaml`);
    writeFileSync(
      configFile,
      renderEnvoyConfig({ envoyPort, adminPort, cpPorts, upstreamPort: upstream.port ?? 0 }),
    );
    const envoy = await startEnvoy({
      configFile,
      logFile: join(dir, `envoy-${label}.log`),
      adminPort,
      concurrency: WORKERS,
    });
    children.push(envoy);
    commands.push(envoy.command);
    const admin = `http://127.0.0.1:${adminPort}`;
    const pinned = [...(await pinWorkers(envoyPort, admin, WORKERS))].map(([worker, connection]) => ({
      label: `${label}/worker${worker}`,
      connection,
    }));
    workers.push(...pinned);
    return pinned;
  };

  let sizes: Awaited<ReturnType<typeof binarySizes>>;
  try {
    // Builds first, while nothing else of this benchmark runs.
    sizes = await binarySizes(dir, commands);

    kube = await startTestKubeApiServer();
    await kube.installCrds();
    const api = kube;
    const namespace = await api.createNamespace("bench");
    const startupNamespace = await api.createNamespace("bench-startup");

    for (let i = 0; i < startups; i++) {
      for (const store of i % 2 === 0
        ? (["kubernetes", "memory"] as const)
        : (["memory", "kubernetes"] as const)) {
        const extra =
          store === "kubernetes" ? ["--kubeconfig", api.kubeconfig, "--namespace", startupNamespace] : [];
        startupMs[store].push(await startupTime(store, extra, dir, commands));
      }
    }

    replicas = await Promise.all((await freePorts(REPLICAS)).map((port) => startReplica(namespace, port)));
    const memoryPort = await freePort();
    const memory = spawnLogged(
      [HFI_BIN, "serve", "--listen", `127.0.0.1:${memoryPort}`, "--log-level", "warn"],
      join(dir, "hfi-memory.log"),
    );
    children.push(memory);
    commands.push(memory.command);
    const memoryUrl = `http://127.0.0.1:${memoryPort}`;
    await waitForUrl(`${memoryUrl}/readyz`, memory);

    const policies = `/apis/hfi.dev/v1alpha1/namespaces/${namespace}/faultinjectionpolicies`;
    const resource = JSON.stringify({
      ...policy(POLICY_NAME, SPEC),
      metadata: { name: POLICY_NAME, namespace },
    });
    const restPolicy = JSON.stringify(policy(POLICY_NAME, SPEC));
    stacks.push(
      {
        workers: await startPinnedEnvoy(
          "kubernetes",
          replicas.map((r) => r.port),
        ),
        apply: () =>
          api.request(policies, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: resource,
          }),
        remove: () => api.request(`${policies}/${POLICY_NAME}`, { method: "DELETE" }),
        applied: [],
        removed: [],
      },
      {
        workers: await startPinnedEnvoy("memory", [memoryPort]),
        apply: () =>
          fetch(`${memoryUrl}/v1/policies/${POLICY_NAME}`, {
            method: "PUT",
            headers: { "content-type": "application/json" },
            body: restPolicy,
          }),
        remove: () => fetch(`${memoryUrl}/v1/policies/${POLICY_NAME}`, { method: "DELETE" }),
        applied: [],
        removed: [],
      },
    );
    await everyWorker(workers, PROBE_PATH, 200, performance.now());
    // One change each, not measured: the first one a process serves pays for its cold code paths.
    for (const stack of stacks) {
      await timedChange(stack.workers, stack.apply, 503, -1, 0);
      await timedChange(stack.workers, stack.remove, 200, -1, 0);
    }

    for (let i = 0; i < changes; i++) {
      const order = i % stacks.length;
      for (const stack of [...stacks.slice(order), ...stacks.slice(0, order)]) {
        stack.applied.push(await timedChange(stack.workers, stack.apply, 503, i, order));
        stack.removed.push(await timedChange(stack.workers, stack.remove, 200, i, order));
      }
    }

    const kubeStack = stacks[0] as Stack;
    for (let i = 0; i < waits; i++) {
      const name = `bench-wait-${i}`;
      const body = JSON.stringify({ ...policy(name, SPEC), metadata: { name, namespace } });
      const start = performance.now();
      const created = await api.request(policies, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      if (created.status !== 201)
        throw new Error(`POST ${name} answered ${created.status}: ${await created.text()}`);
      const wait = [
        "wait",
        "-n",
        namespace,
        "--for=condition=Propagated",
        `--timeout=${WAIT_TIMEOUT_S}s`,
        `fip/${name}`,
      ];
      const waiting = api.kubectl(wait).then((result) => ({ result, ms: performance.now() - start }));
      await Bun.sleep(PENDING_AFTER_MS);
      const pendingMessage = propagatedMessage(
        (await (await api.request(`${policies}/${name}`)).json()) as PolicyResource,
      );
      const { result: waited, ms: createdToReturnMs } = await waiting;
      const probes = await Promise.all(kubeStack.workers.map((w) => w.connection.request(PROBE_PATH)));
      const again = performance.now();
      const metAgain = await api.kubectl(wait);
      const alreadyMetMs = metAgain.exitCode === 0 ? performance.now() - again : Number.NaN;
      const resource = JSON.parse(
        await mustKubectl(api, ["get", "-n", namespace, "fip", name, "-o", "json"]),
      );
      waitRounds.push({
        index: i,
        met: waited.exitCode === 0,
        createdToReturnMs,
        alreadyMetMs,
        everyWorkerFaulted: probes.every((p) => p.status === 503),
        pendingMessage,
        message: propagatedMessage(resource),
      });
      const deleted = await api.request(`${policies}/${name}`, { method: "DELETE" });
      if (!deleted.ok) throw new Error(`DELETE ${name} answered ${deleted.status}`);
      await everyWorker(kubeStack.workers, PROBE_PATH, 200, performance.now());
    }
    commands.push(
      `${KUBECTL_BIN} --kubeconfig=KUBECONFIG wait -n NAMESPACE --for=condition=Propagated --timeout=${WAIT_TIMEOUT_S}s fip/NAME`,
    );

    for (const ttl of LEASE_TTLS_SECONDS) {
      // The default TTL on the propagation replicas; the shorter one on a pair in a namespace (a Lease) of its own.
      let ns = namespace;
      let extra: string[] = [];
      if (ttl !== 10) {
        ns = await api.createNamespace(`bench-lease-${ttl}s`);
        extra = ["--lease-ttl", `${ttl}s`];
        const ports = await freePorts(REPLICAS);
        replicas = await Promise.all(ports.map((port) => startReplica(ns, port, extra)));
      }
      for (let k = 0; k < failovers; k++) {
        for (const signal of ["SIGKILL", "SIGTERM"] as const) {
          const leader = await leaseHolder(api, ns, replicas, (ttl + 10) * 1000);
          const survivor = replicas.find((r) => r !== leader) as Replica;
          const start = performance.now();
          leader.spawned.proc.kill(signal);
          await leaseHolder(api, ns, [survivor], (2 * ttl + 10) * 1000);
          failover.push({ leaseTtlSeconds: ttl, signal, ms: performance.now() - start });
          await leader.spawned.proc.exited;
          replicas = [survivor, await startReplica(ns, leader.port, extra)];
        }
      }
    }
  } finally {
    for (const w of workers) w.connection.close();
    await Promise.all(children.map((c) => terminate(c.proc)));
    await kube?.stop();
    upstream.stop(true);
    rmSync(dir, { recursive: true, force: true });
  }

  const [kubeStack, memoryStack] = stacks as [Stack, Stack];
  const all = (cs: Change[]) => cs.map((c) => c.allMs);
  const p = (cs: Change[], at: number) => percentile(all(cs), at);
  const where = `1 Envoy × ${WORKERS} workers`;
  const failoverOf = (ttl: number, signal: Failover["signal"]) =>
    failover.filter((f) => f.leaseTtlSeconds === ttl && f.signal === signal).map((f) => f.ms);
  const waited = waitRounds.filter((w) => w.met).map((w) => w.createdToReturnMs);
  const alreadyMet = waitRounds.map((w) => w.alreadyMetMs).filter(Number.isFinite);
  const startupKube = median(startupMs.kubernetes);
  const startupMemory = median(startupMs.memory);

  const APPLY_P99 = `POST resource → first 503 on every worker (${REPLICAS} replicas, ${where}), p99`;
  const rows = [
    valueRow(
      `POST resource → first 503 on every worker (${REPLICAS} replicas, ${where}), p50`,
      p(kubeStack.applied, 50),
      "ms",
    ),
    valueRow(
      APPLY_P99,
      p(kubeStack.applied, 99),
      "ms",
      PROPAGATION_TARGET,
      `max ${Math.max(...all(kubeStack.applied)).toFixed(1)} ms over ${changes} changes`,
    ),
    valueRow(
      "POST resource → 201 from the API server, p50",
      median(kubeStack.applied.map((c) => c.apiMs)),
      "ms",
    ),
    valueRow(`DELETE resource → first 200 on every worker, p50`, p(kubeStack.removed, 50), "ms"),
    valueRow(DELETE_P99, p(kubeStack.removed, 99), "ms", PROPAGATION_TARGET),
    valueRow(
      `baseline: memory store, PUT → first 503 on every worker (${where}), p50`,
      p(memoryStack.applied, 50),
      "ms",
    ),
    valueRow(
      `baseline: memory store, PUT → first 503 on every worker, p99`,
      p(memoryStack.applied, 99),
      "ms",
    ),
    valueRow(
      `baseline: memory store, DELETE → first 200 on every worker, p99`,
      p(memoryStack.removed, 99),
      "ms",
    ),
    valueRow(
      "apply → every worker, Kubernetes ÷ memory, p50",
      p(kubeStack.applied, 50) / p(memoryStack.applied, 50),
      "×",
    ),
    valueRow(
      "apply → every worker, Kubernetes ÷ memory, p99",
      p(kubeStack.applied, 99) / p(memoryStack.applied, 99),
      "×",
    ),
    valueRow(
      "delete → every worker, Kubernetes ÷ memory, p99",
      p(kubeStack.removed, 99) / p(memoryStack.removed, 99),
      "×",
    ),
    valueRow(
      WAIT_P50,
      median(waited),
      "ms",
      WAIT_TARGET,
      `max ${Math.max(...waited).toFixed(0)} ms; ${waited.length}/${waitRounds.length} returned within ${WAIT_TIMEOUT_S} s; every worker faulted at the return in ${waitRounds.filter((w) => w.everyWorkerFaulted).length}/${waitRounds.length}`,
    ),
    valueRow(
      "`kubectl wait` on a policy already Propagated (kubectl's own time), p50",
      median(alreadyMet),
      "ms",
    ),
    ...LEASE_TTLS_SECONDS.flatMap((ttl) => {
      const killed = failoverOf(ttl, "SIGKILL");
      const stopped = failoverOf(ttl, "SIGTERM");
      return [
        valueRow(
          `leader kill -9 → the Lease names the other replica (--lease-ttl ${ttl}s), max`,
          Math.max(...killed),
          "ms",
          // The follower takes over once it has seen the same record for a whole lease duration, and
          // looks every third of one: at most 4/3 of the duration after the leader's last renewal.
          { op: "<=", bound: Math.round((ttl * 4000) / 3) + 1000 },
          `over ${killed.length}: ${killed.map((ms) => ms.toFixed(0)).join(", ")} ms`,
        ),
        valueRow(
          `leader SIGTERM (Lease released) → the Lease names the other replica (--lease-ttl ${ttl}s), max`,
          Math.max(...stopped),
          "ms",
          undefined,
          `over ${stopped.length}: ${stopped.map((ms) => ms.toFixed(0)).join(", ")} ms`,
        ),
      ];
    }),
    valueRow(
      "start-up to /readyz, --store kubernetes, median",
      startupKube,
      "ms",
      undefined,
      `over ${startups}`,
    ),
    valueRow(
      "start-up to /readyz, --store memory, median",
      startupMemory,
      "ms",
      undefined,
      `over ${startups}`,
    ),
    valueRow("start-up, kubernetes ÷ memory", startupKube / startupMemory, "×"),
    valueRow(
      `dist/hfi size, HEAD − before the Kubernetes store (${sizes.before.commit.slice(0, 10)})`,
      (sizes.head.bytes - sizes.before.bytes) / 1024,
      "KiB",
      undefined,
      `${sizes.before.bytes} → ${sizes.head.bytes} bytes; includes every other change merged since`,
    ),
    valueRow(
      "Kubernetes modules in the minified bundle (src/kubernetes/, src/store/kubernetes.ts)",
      sizes.kubernetesModuleBytes / 1024,
      "KiB",
      undefined,
      Object.entries(sizes.modules)
        .map(([file, bytes]) => `${file} ${bytes}`)
        .join(", "),
    ),
  ];

  return {
    params: {
      changes,
      replicas: REPLICAS,
      envoysPerStack: 1,
      workersPerEnvoy: WORKERS,
      kubernetesVersion: KUBERNETES_VERSION,
      kubectl: KUBECTL_BIN,
      kubectlVersion: (await $`${KUBECTL_BIN} version --client`.nothrow().quiet()).stdout.toString().trim(),
      leaseTtlsSeconds: LEASE_TTLS_SECONDS,
      failoversPerTtlAndSignal: failovers,
      waits,
      startups,
      probePath: PROBE_PATH,
      machine: machine(),
    },
    commands,
    samples: {
      kubernetes: { applied: kubeStack.applied, removed: kubeStack.removed },
      memory: { applied: memoryStack.applied, removed: memoryStack.removed },
      waits: waitRounds,
      failover,
      startupMs,
      sizes,
    },
    rows,
    missed: missedCauses(kubeStack, memoryStack, waitRounds, APPLY_P99),
    notes: [
      `Propagation as in propagation.ts (each worker probed on its own pinned keep-alive connection about once per ms), timed from sending the request. Kubernetes: the POST/DELETE of a FaultInjectionPolicy to a real kube-apiserver ${KUBERNETES_VERSION} (its own etcd) as a system:masters bearer token; ${REPLICAS} \`hfi serve --store kubernetes\` replicas (default --lease-ttl) watch it, and the Envoy's \`hfi_control_plane\` cluster lists both. Baseline: \`hfi serve\` (memory store) and a REST PUT/DELETE, with an Envoy of its own; the stacks take turns, ${changes} changes each.`,
      `\`kubectl wait\`: ${KUBECTL_BIN}; the leader brings the Propagated condition up to date once a second, counting the proxies that poll it.`,
      `Failover: the Lease \`hfi-leader\` read through the API every 50 ms; ${failovers} kill -9 and ${failovers} SIGTERM per TTL, the stopped replica started again after each. 10 s is \`hfi serve\`'s default --lease-ttl, 3 s what test/e2e/kubernetes.e2e.test.ts uses.`,
      `Size: both binaries built with \`bun scripts/build.ts\` from \`git archive\` of the commit (node_modules linked), ${sizes.before.commit.slice(0, 10)} being the first parent of the merge that brought the Kubernetes store.`,
      "Everything (kube-apiserver, its etcd, 3 hfi processes, 2 Envoys, the prober, the upstream) shares the 2 cores.",
    ],
  };
}

/** Why the rows with targets missed them, with this run's figures. */
function missedCauses(
  kubeStack: Stack,
  memoryStack: Stack,
  waitRounds: WaitRound[],
  applyFigure: string,
): Record<string, string> {
  const p = (values: number[], at: number) => percentile(values, at).toFixed(1);
  const api = kubeStack.applied.map((c) => c.apiMs);
  const after = kubeStack.applied.map((c) => c.allMs - c.apiMs);
  const memory = memoryStack.applied.map((c) => c.allMs);
  const propagation =
    `The API server answers the POST in ${p(api, 50)} ms p50, ${p(api, 99)} ms p99 (an etcd transaction, admission, ` +
    "the CRD's schema), then sends the watch event to both replicas, each compiles and answers its held polls; " +
    `from the answer to the last worker took ${p(after, 50)} ms p50, ${p(after, 99)} ms p99, against ` +
    `${p(memory, 50)} ms p50, ${p(memory, 99)} ms p99 for the whole change with the memory store in the same run. ` +
    `The load average was ${machine().loadavg[0]} on ${machine().cpus} cores at the end of the run, shared by the ` +
    "API server, its etcd, 3 hfi processes, 2 Envoys and the prober: compare the ratio rows, and measure the target on a quieter host.";
  const wait =
    "The leader refreshes the Propagated condition once a second from the proxies of every replica (each " +
    "publishes its own on a Lease), so a wait ends about a second after the last targeted worker has the policy, " +
    `plus kubectl's own start-up. The condition read ${PENDING_AFTER_MS / 1000} s after the POST: ` +
    `"${waitRounds[0]?.pendingMessage ?? ""}"; once met: "${waitRounds.find((w) => w.met)?.message ?? ""}". ` +
    "A miss means a worker that polls no live replica, or a leader that cannot write status.";
  return { [applyFigure]: propagation, [DELETE_P99]: propagation, [WAIT_P50]: wait };
}

/** Sends one change and waits for every worker to show it. */
async function timedChange(
  workers: PinnedWorker[],
  send: () => Promise<Response>,
  status: number,
  index: number,
  order: number,
): Promise<Change> {
  const start = performance.now();
  const res = await send();
  await res.arrayBuffer();
  const apiMs = performance.now() - start;
  if (!res.ok) throw new Error(`change ${index} answered ${res.status}`);
  const perWorkerMs = await everyWorker(workers, PROBE_PATH, status, start);
  return { index, order, apiMs, perWorkerMs, allMs: Math.max(...Object.values(perWorkerMs)) };
}

/** Spawns `hfi serve --store <store>` and times it to its first 200 on /readyz (polled every 10 ms). */
async function startupTime(store: string, extra: string[], dir: string, commands: string[]): Promise<number> {
  const port = await freePort();
  const start = performance.now();
  const spawned = spawnLogged(
    [HFI_BIN, "serve", "--listen", `127.0.0.1:${port}`, "--store", store, "--log-level", "warn", ...extra],
    join(dir, `startup-${store}-${port}.log`),
  );
  commands.push(spawned.command);
  try {
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) return performance.now() - start;
      if (spawned.proc.exitCode !== null) throw new Error(`hfi serve --store ${store} exited`);
      if (performance.now() - start > 30_000)
        throw new Error(`hfi serve --store ${store}: not ready in 30 s`);
      await Bun.sleep(10);
    }
  } finally {
    await terminate(spawned.proc);
  }
}

/** Waits until the Lease `hfi-leader` in `namespace` names one of `among`; returns that one. */
async function leaseHolder(
  kube: TestKubeApiServer,
  namespace: string,
  among: Replica[],
  limitMs: number,
): Promise<Replica> {
  const deadline = performance.now() + limitMs;
  for (;;) {
    const res = await kube.request(`/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/hfi-leader`);
    if (res.ok) {
      const holder = ((await res.json()) as { spec: { holderIdentity?: string } }).spec.holderIdentity;
      const found = among.find((r) => r.name === holder);
      if (found) return found;
    } else await res.arrayBuffer();
    if (performance.now() > deadline) throw new Error(`no holder among ${among.map((r) => r.name)} in time`);
    await Bun.sleep(50);
  }
}

interface PolicyResource {
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}

function propagatedMessage(resource: PolicyResource): string {
  const condition = resource.status?.conditions?.find((c) => c.type === "Propagated");
  return condition ? `${condition.status}: ${condition.message ?? ""}` : "none";
}

async function mustKubectl(kube: TestKubeApiServer, args: string[]): Promise<string> {
  const result = await kube.kubectl(args);
  if (result.exitCode !== 0) throw new Error(`kubectl ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/**
 * `dist/hfi` built from the commit before the Kubernetes store was merged and from HEAD, each from
 * `git archive` with the same build script; and what the Kubernetes modules add to HEAD's bundle.
 */
async function binarySizes(dir: string, commands: string[]) {
  const merge = (
    await $`git log --merges --first-parent --reverse --format=%H --grep=${KUBERNETES_MERGE} HEAD`
      .cwd(ROOT)
      .text()
  )
    .split("\n")[0]
    ?.trim();
  if (!merge) throw new Error("no merge of the Kubernetes store in HEAD's history");
  const before = (await $`git rev-parse ${merge}^1`.cwd(ROOT).text()).trim();
  const head = (await $`git rev-parse HEAD`.cwd(ROOT).text()).trim();
  const build = async (commit: string) => {
    const tree = join(dir, `build-${commit.slice(0, 10)}`);
    await $`mkdir -p ${tree} && git archive ${commit} | tar -x -C ${tree}`.cwd(ROOT).quiet();
    symlinkSync(join(ROOT, "node_modules"), join(tree, "node_modules"));
    await $`bun scripts/build.ts`
      .cwd(tree)
      .env({ ...process.env, HFI_GIT_COMMIT: commit.slice(0, 7) })
      .quiet();
    commands.push(
      `git archive ${commit} | tar -x -C TREE && cd TREE && HFI_GIT_COMMIT=${commit.slice(0, 7)} bun scripts/build.ts`,
    );
    const bytes = statSync(join(tree, "dist/hfi")).size;
    rmSync(tree, { recursive: true, force: true });
    return { commit, bytes };
  };
  const result = await Bun.build({
    entrypoints: [join(ROOT, "src/cli/main.ts")],
    target: "bun",
    minify: true,
    splitting: true,
    metafile: true,
    outdir: join(dir, "metafile"),
    loader: { ".proto": "file" },
  });
  if (!result.success || !result.metafile)
    throw new AggregateError(result.logs, "could not bundle src/cli/main.ts");
  const modules: Record<string, number> = {};
  for (const output of Object.values(result.metafile.outputs)) {
    for (const [file, input] of Object.entries(output.inputs ?? {})) {
      const module = /(?:^|\/)(src\/(?:kubernetes\/[^/]+|store\/kubernetes\.ts))$/.exec(file)?.[1];
      if (module) modules[module] = (modules[module] ?? 0) + input.bytesInOutput;
    }
  }
  commands.push(
    "Bun.build({ entrypoints: ['src/cli/main.ts'], target: 'bun', minify: true, splitting: true, metafile: true })",
  );
  return {
    before: await build(before),
    head: await build(head),
    mergeCommit: merge,
    modules,
    kubernetesModuleBytes: Object.values(modules).reduce((a, b) => a + b, 0),
  };
}
