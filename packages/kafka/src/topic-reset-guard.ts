import { type DetectedReset, describeReset, type ResetPolicy } from "@adpipe/core";
import type { Logger } from "@adpipe/telemetry";

export interface TopicResetGuardOptions {
  readonly topic: string;
  /** The consumer whose positions are guarded (group id, lake id): named in logs and /readyz. */
  readonly consumer: string;
  readonly policy: ResetPolicy;
  readonly logger: Logger;
  /** Called with the partitions found reset (empty when cleared): metrics. */
  readonly onChange?: (resets: readonly DetectedReset[]) => void;
}

/** The command that moves positions past a reset (printed in logs and /readyz, documented in docs/operations.md). */
export function resetCommand(topic: string): string {
  return `adpipe offsets reset --topic ${topic} --to earliest --yes`;
}

/**
 * The state a consumer keeps about a topic reset it found: which partitions, whether it stopped consuming, and the
 * loud part (one ERROR line per partition and detection, /readyz reason, metric through onChange). The service
 * decides what a detection means for its store (stop, or reset itself under RESET_POLICY=earliest).
 */
export class TopicResetGuard {
  private current: readonly DetectedReset[] = [];

  constructor(private readonly options: TopicResetGuardOptions) {}

  /** True while a reset is detected and not resolved: the service does not consume the topic. */
  get blocked(): boolean {
    return this.current.length > 0;
  }

  get resets(): readonly DetectedReset[] {
    return this.current;
  }

  /** The /readyz reason (undefined when not blocked). */
  reason(): string | undefined {
    if (!this.blocked) return undefined;
    const partitions = this.current.map((r) => `partition ${r.partition} ${describeReset(r)}`).join(", ");
    return this.options.policy === "earliest"
      ? `topic ${this.options.topic} was reset (${partitions}); resetting to the new log's start (RESET_POLICY=earliest)`
      : `topic ${this.options.topic} was reset (${partitions}); consumption stopped until \`${resetCommand(this.options.topic)}\` (see docs/operations.md)`;
  }

  /** Throws with the reason while blocked: a readiness check. */
  check(): void {
    const reason = this.reason();
    if (reason !== undefined) throw new Error(reason);
  }

  /** Records detected resets; logs an ERROR for every partition not already reported. */
  report(resets: readonly DetectedReset[], context: { generation: number }): void {
    if (resets.length === 0) return;
    const known = new Set(this.current.map((r) => r.partition));
    const merged = new Map(this.current.map((r) => [r.partition, r]));
    for (const reset of resets) merged.set(reset.partition, reset);
    this.current = [...merged.values()].sort((a, b) => a.partition - b.partition);
    const { topic, consumer, policy } = this.options;
    for (const reset of resets) {
      if (known.has(reset.partition)) continue;
      this.options.logger.error(
        {
          topic,
          partition: reset.partition,
          storedOffset: reset.storedOffset.toString(),
          logStartOffset: reset.logStartOffset.toString(),
          logEndOffset: reset.logEndOffset.toString(),
          reason: reset.reason,
          consumer,
          generation: context.generation,
          resetPolicy: policy,
          action:
            policy === "earliest"
              ? "resetting this service's positions to the new log's start (audited)"
              : `consumption of ${topic} stopped; check docs/operations.md, then run \`${resetCommand(topic)}\``,
        },
        `topic reset detected: ${topic} partition ${reset.partition} stored offset ${reset.storedOffset} > log end ${reset.logEndOffset}: the topic was deleted and recreated (or restored elsewhere); its records are new, not replays`,
      );
    }
    this.options.onChange?.(this.current);
  }

  /** Forgets the detection (positions fit the log again: after a reset). */
  clear(context: { generation: number; resetId?: string | null }): void {
    if (!this.blocked) return;
    const partitions = this.current.map((r) => r.partition);
    this.current = [];
    this.options.logger.info(
      {
        topic: this.options.topic,
        consumer: this.options.consumer,
        partitions,
        generation: context.generation,
        resetId: context.resetId ?? null,
      },
      "topic reset resolved: positions fit the log again; consuming",
    );
    this.options.onChange?.(this.current);
  }
}
