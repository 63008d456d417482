/**
 * deploy/compose/compose.yaml, read with the yaml package and checked for what `docker compose up`
 * needs (there is no Docker engine here): the services, what they depend on and mount, pinned images,
 * build targets that exist, and an Envoy config that reaches both control-plane replicas.
 */
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parse } from "yaml";
import { isPinned, parseDockerfile } from "./support/dockerfile.ts";
import { hfiFilters } from "./support/envoy.ts";
import { ROOT } from "./support/helm.ts";

// biome-ignore lint/suspicious/noExplicitAny: compose and Envoy files are walked as plain parsed YAML
type Any = any;

const COMPOSE_FILE = join(ROOT, "deploy/compose/compose.yaml");
const COMPOSE_DIR = dirname(COMPOSE_FILE);
// Compose reads YAML 1.1 merge keys (`<<: *hfi-serve`).
const compose: Any = parse(readFileSync(COMPOSE_FILE, "utf8"), { merge: true });
const services: Record<string, Any> = compose.services;
const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;

/** Bind mounts start with . or /; anything else names a volume. */
const mounts = (service: Any) =>
  (service.volumes ?? []).map((v: string) => {
    const [source = "", target = "", mode] = v.split(":");
    return { source, target, readOnly: mode === "ro", bind: /^[./]/.test(source) };
  });

test("the services: etcd, two hfi replicas, the filter copier, Envoy and a sample upstream", () => {
  expect(Object.keys(services).sort()).toEqual(["envoy", "etcd", "hfi-1", "hfi-2", "hfi-filter", "upstream"]);
});

test("every image is pinned; built images name a Dockerfile target that exists", () => {
  for (const [name, service] of Object.entries(services)) {
    expect(service.image, name).toBeString();
    expect(isPinned(service.image), `${name}: ${service.image}`).toBe(true);
    if (!service.build) continue;
    const dockerfile = resolve(COMPOSE_DIR, service.build.context, service.build.dockerfile);
    expect(existsSync(dockerfile), dockerfile).toBe(true);
    const stages = parseDockerfile(readFileSync(dockerfile, "utf8")).map((s) => s.name);
    expect(stages, name).toContain(service.build.target);
  }
  expect(services["hfi-1"].image).toBe(`hfi:${version}`);
  expect(services["hfi-filter"].image).toBe(`hfi-filter:${version}`);
  expect(services.envoy.image).toBe("envoyproxy/envoy:v1.40.0");
});

test("Envoy runs without hot restart and with a node id for hfi status", () => {
  expect(services.envoy.command).toEqual(
    expect.arrayContaining(["--disable-hot-restart", "--service-node=compose-envoy"]),
  );
});

test("depends_on names services, with conditions they can meet", () => {
  for (const [name, service] of Object.entries(services)) {
    for (const [dependency, { condition }] of Object.entries<Any>(service.depends_on ?? {})) {
      expect(Object.keys(services), `${name} depends on ${dependency}`).toContain(dependency);
      expect(["service_started", "service_healthy", "service_completed_successfully"]).toContain(condition);
      if (condition === "service_healthy") expect(services[dependency].healthcheck, dependency).toBeDefined();
      if (condition === "service_completed_successfully")
        expect(services[dependency].restart).toBeUndefined();
    }
  }
  expect(services["hfi-1"].depends_on.etcd.condition).toBe("service_healthy");
  expect(Object.keys(services.envoy.depends_on).sort()).toEqual(["hfi-1", "hfi-2", "hfi-filter", "upstream"]);
});

test("bind-mounted files exist; named volumes are declared, and every declared volume is used", () => {
  const used = new Set<string>();
  for (const [name, service] of Object.entries(services)) {
    for (const mount of mounts(service)) {
      if (mount.bind)
        expect(existsSync(resolve(COMPOSE_DIR, mount.source)), `${name}: ${mount.source}`).toBe(true);
      else {
        expect(Object.keys(compose.volumes), `${name}: volume ${mount.source}`).toContain(mount.source);
        used.add(mount.source);
      }
    }
  }
  expect([...used].sort()).toEqual(Object.keys(compose.volumes).sort());
});

test("both replicas run `hfi serve` on the same etcd and prefix", () => {
  const [one, two] = [services["hfi-1"].command, services["hfi-2"].command];
  expect(one).toEqual(two);
  expect(one).toEqual(
    expect.arrayContaining([
      "serve",
      "--store=etcd",
      "--etcd-endpoints=http://etcd:2379",
      "--etcd-prefix=hfi/",
    ]),
  );
  expect(services.etcd.command).toContain("--advertise-client-urls=http://etcd:2379");
  const published = Object.values(services).flatMap((s: Any) =>
    (s.ports ?? []).map((p: string) => p.split(":")[1]),
  );
  expect(new Set(published).size).toBe(published.length);
});

test("Envoy: its config is mounted, the filter comes from the copier's volume, both replicas are polled", () => {
  const envoyMounts = mounts(services.envoy);
  const configMount = envoyMounts.find((m: Any) => m.bind);
  expect(configMount).toMatchObject({
    source: "./envoy.yaml",
    target: "/etc/envoy/envoy.yaml",
    readOnly: true,
  });
  const config = parse(readFileSync(resolve(COMPOSE_DIR, configMount.source), "utf8"));
  expect(services.envoy.command).toContain(`--config-path=${configMount.target}`);

  const [filter] = hfiFilters(config);
  const wasmPath: string = filter.vm_config.code.local.filename;
  const copier = mounts(services["hfi-filter"])[0];
  const envoyFilterMount = envoyMounts.find((m: Any) => m.source === copier.source);
  expect(wasmPath).toBe(`${envoyFilterMount.target}/hfi-filter.wasm`);
  expect(services["hfi-filter"].command.at(-1)).toBe(`${copier.target}/hfi-filter.wasm`);

  const addresses = (cluster: string) =>
    config.static_resources.clusters
      .find((c: Any) => c.name === cluster)
      .load_assignment.endpoints.flatMap((e: Any) => e.lb_endpoints)
      .map(
        (e: Any) =>
          `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`,
      );
  expect(addresses("hfi_control_plane")).toEqual(["hfi-1:8080", "hfi-2:8080"]);
  expect(services["hfi-1"].command).toContain("--listen=0.0.0.0:8080");
  expect(addresses("upstream")).toEqual(["upstream:5678"]);
  expect(services.upstream.command).toContain("-listen=:5678");
});
