/** What each proxy_on_* export does, resolved to the context it concerns. Unknown ids are no-ops. */
import { DataAction, HeadersAction } from "../abi/enums";
import { randomU64 } from "../abi/host";
import { seedRandom } from "../random";
import { createContext, deleteContext, ensureRoot, findRoot, rootOfStream } from "./registry";
import {
  heldBody,
  onStreamRequestBody,
  onStreamRequestHeaders,
  onStreamResponseHeaders,
  streamDone,
  streamEnded,
} from "./stream";

/** May run once per plugin in the same VM; reseeding is harmless. */
export function onVmStart(): bool {
  seedRandom(randomU64());
  return true;
}

export function onContextCreate(contextId: u32, parentId: u32): void {
  createContext(contextId, parentId);
}

export function onConfigure(rootId: u32, configSize: usize): bool {
  return ensureRoot(rootId).onConfigure(configSize);
}

export function onRequestHeaders(contextId: u32, endOfStream: bool): HeadersAction {
  const root = rootOfStream(contextId);
  return root != null ? onStreamRequestHeaders(root, contextId, endOfStream) : HeadersAction.Continue;
}

/** Only a stream paused for its body (a body condition) has anything to do here. */
export function onRequestBody(contextId: u32, size: usize, endOfStream: bool): DataAction {
  return onStreamRequestBody(contextId, size, endOfStream);
}

/** Only a stream a response rule matched has anything to do here: the rest return at once. */
export function onResponseHeaders(contextId: u32, endOfStream: bool): HeadersAction {
  return onStreamResponseHeaders(contextId, endOfStream);
}

/** Only a stream whose response is held for a delay, or whose body a response fault changes, has anything to do here. */
export function onResponseBody(contextId: u32, size: usize, endOfStream: bool): DataAction {
  if (heldBody(contextId, true) != DataAction.Continue) return DataAction.StopIterationAndWatermark;
  const root = rootOfStream(contextId);
  return root != null ? root.onResponseBody(contextId, size, endOfStream) : DataAction.Continue;
}

export function onTick(rootId: u32): void {
  const root = findRoot(rootId);
  if (root != null) root.onTick();
}

export function onHttpCallResponse(rootId: u32, token: u32, numHeaders: u32, bodySize: usize): void {
  const root = findRoot(rootId);
  if (root != null) root.onHttpCallResponse(token, numHeaders, bodySize);
}

export function onDone(contextId: u32): bool {
  if (streamEnded(contextId)) return true;
  const root = findRoot(contextId);
  if (root != null) root.onDone();
  return true;
}

/** A stream still paused for a delay leaves the delay queue first. */
export function onDelete(contextId: u32): void {
  streamDone(contextId);
  deleteContext(contextId);
}
