import { expect, test } from "bun:test";
import { GRPCDeadlineExceededError, GRPCUnavailableError } from "etcd3";
import { toHfiError } from "./etcd-client.ts";

const MAY = "the policy may have been written: get it to see";

test("a connection dropped with a write in flight may have carried it out, and the error says so", () => {
  const err = toHfiError(new GRPCUnavailableError("14 UNAVAILABLE: Connection dropped"), MAY);
  expect(err.code).toBe("Unavailable");
  expect(err.message).toBe(`etcd unreachable: 14 UNAVAILABLE: Connection dropped; ${MAY}`);
});

test("a write that never left (no connection, a member passed over, a refused stream) says only unreachable", () => {
  for (const message of [
    "14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:2379",
    "etcd member passed over after an outage",
    "14 UNAVAILABLE: Stream refused by server",
  ]) {
    const err = toHfiError(new GRPCUnavailableError(message), MAY);
    expect(err.message).not.toContain("may have been");
    expect(err.message).toStartWith("etcd unreachable: ");
  }
});

test("a deadline passed says the write may have happened; a read says neither", () => {
  expect(toHfiError(new GRPCDeadlineExceededError("4 DEADLINE_EXCEEDED"), MAY).message).toBe(
    `etcd did not answer in time; ${MAY}`,
  );
  expect(toHfiError(new GRPCUnavailableError("14 UNAVAILABLE: Connection dropped")).message).toBe(
    "etcd unreachable: 14 UNAVAILABLE: Connection dropped",
  );
});
