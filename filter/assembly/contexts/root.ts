import { BufferType, LogLevel } from "../abi/enums";
import { getBuffer, log, nowMs, setTickPeriod } from "../abi/host";
import { parsePluginConfig } from "../config";
import { Metrics } from "../metrics";
import { ActiveRules } from "../rules";
import { Subscriber } from "../subscriber";

/**
 * One plugin instance in one worker VM: its configuration, the rules in force, the metrics, and the
 * subscriber that keeps the rules current. Owns the VM timer and keeps it off when nothing is due.
 */
export class RootContext {
  readonly rules: ActiveRules = new ActiveRules();
  private metrics: Metrics | null = null;
  private subscriber: Subscriber | null = null;
  /** Period currently programmed on Envoy's timer; 0 = off. */
  private tickMs: u32 = 0;

  onConfigure(configSize: usize): bool {
    const bytes = getBuffer(BufferType.PluginConfiguration, configSize);
    const parsed = parsePluginConfig(bytes != null ? bytes : new ArrayBuffer(0));
    const config = parsed.config;
    if (config == null) {
      log(LogLevel.Error, "invalid plugin configuration: " + parsed.error);
      return false;
    }
    const metrics = new Metrics();
    const subscriber = new Subscriber(config, this.rules, metrics);
    this.metrics = metrics;
    this.subscriber = subscriber;
    const now = nowMs();
    subscriber.start(now);
    this.updateTick(now);
    return true;
  }

  onTick(): void {
    const subscriber = this.subscriber;
    if (subscriber == null) return;
    const now = nowMs();
    subscriber.onTick(now);
    this.updateTick(now);
  }

  onHttpCallResponse(token: u32, numHeaders: u32, bodySize: usize): void {
    const subscriber = this.subscriber;
    if (subscriber == null) return;
    const now = nowMs();
    subscriber.onResponse(token, numHeaders, bodySize, now);
    this.updateTick(now);
  }

  /** The plugin is going away: late callout responses and ticks become no-ops. */
  onDone(): void {
    this.subscriber = null;
    this.updateTick(0);
  }

  faultInjected(): void {
    const metrics = this.metrics;
    if (metrics != null) metrics.abortInjected();
  }

  private updateTick(now: u64): void {
    const subscriber = this.subscriber;
    const wanted = subscriber != null ? subscriber.wakeInMs(now) : 0;
    if (wanted == this.tickMs) return;
    setTickPeriod(wanted);
    this.tickMs = wanted;
  }
}
