import { HeadersAction, MapType } from "../abi/enums";
import { replaceHeader, setProperty } from "../abi/host";
import { DelayedRequest } from "../delay";
import { injectAbort, isSampled } from "../fault";
import { findRule } from "../matcher";
import { HostRequest } from "./request";
import { RootContext } from "./root";

const request = new HostRequest();
/** Request header naming the fault to the upstream, as the abort reply names it to the client. */
const FAULT_HEADER = String.UTF8.encode("x-hfi-fault");
/** Filter-state property with the policy that faulted the request: `wasm.hfi_policy` in Envoy. */
const POLICY_PROPERTY = String.UTF8.encode("hfi_policy");

/** One HTTP stream: decides on its request headers whether, and how, to fault it. */
export class StreamContext {
  /** Set while the request is paused for a delay. */
  private delayed: DelayedRequest | null = null;

  constructor(
    readonly id: u32,
    private readonly root: RootContext,
  ) {}

  /**
   * Nothing while the rule set is halted. Otherwise the first matching rule's fault, if this request
   * is in its share — a dry-run rule only counts it and leaves the request alone: a delay pauses the request
   * (PAUSE becomes StopAllIterationAndWatermark in Envoy) and the root resumes it, or answers it for
   * delay-then-abort; an abort alone answers now. A faulted request carries the policy name in the
   * `hfi_policy` filter state (for access logs); a delay that will be resumed also gets the request
   * header `x-hfi-fault: <policy>;delay=<ms>`, set now because Envoy drops the header map once the
   * stream continues.
   */
  onRequestHeaders(): HeadersAction {
    const ruleSet = this.root.rules.current;
    if (ruleSet == null || ruleSet.halted) return HeadersAction.Continue;
    const rule = findRule(ruleSet.rules, request.begin());
    request.end();
    if (rule == null || !isSampled(rule.fault)) return HeadersAction.Continue;
    if (rule.dryRun) {
      this.root.dryRunMatched(rule);
      return HeadersAction.Continue;
    }
    const fault = rule.fault;
    const delay = fault.delay;
    if (delay != null) {
      const delayed = this.root.startDelay(this.id, rule);
      if (delayed == null) return HeadersAction.Continue;
      this.delayed = delayed;
      setProperty(POLICY_PROPERTY, rule.nameBytes);
      if (fault.abort == null) replaceHeader(MapType.HttpRequestHeaders, FAULT_HEADER, delay.header);
      return HeadersAction.Pause;
    }
    const abort = fault.abort;
    if (abort == null) return HeadersAction.Continue;
    setProperty(POLICY_PROPERTY, rule.nameBytes);
    injectAbort(abort);
    this.root.abortInjected(rule);
    return HeadersAction.Pause;
  }

  /** The stream is over (done or deleted): a request still paused is dropped from the queue. */
  onDone(): void {
    const delayed = this.delayed;
    if (delayed == null) return;
    this.delayed = null;
    this.root.cancelDelay(delayed);
  }
}
