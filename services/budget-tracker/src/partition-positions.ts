import type { TopicPartition, TopicPartitionOffset } from "@adpipe/kafka";
import type { MetaState } from "@adpipe/spend-store";

/** The partitions assigned to this tracker and the next offset the consumer stands at in each. */
export class PartitionPositions {
  private assignedNow: TopicPartition[] = [];
  /** Next offset per assigned partition (set by seeks and applied batches). */
  private readonly next = new Map<number, bigint>();

  constructor(private readonly topic: string) {}

  get assigned(): readonly TopicPartition[] {
    return this.assignedNow;
  }

  assign(assignments: TopicPartition[]): void {
    this.assignedNow = assignments;
  }

  /**
   * Where each partition of the topic (the assigned ones unless given) resumes: the offsets recorded in Redis (0 when none: nothing
   * applied yet). The consumer is taken to stand there from now on.
   */
  resumeFrom(
    meta: MetaState | null,
    assignments: readonly TopicPartition[] = this.assignedNow,
  ): TopicPartitionOffset[] {
    const recorded = new Map((meta?.offsets ?? []).map(({ partition, offset }) => [partition, offset]));
    return assignments
      .filter(({ topic }) => topic === this.topic)
      .map(({ topic, partition }) => {
        const offset = recorded.get(partition) ?? 0;
        this.next.set(partition, BigInt(offset));
        return { topic, partition, offset: String(offset) };
      });
  }

  /** The next offset the consumer stands at in a partition; undefined before its first seek. */
  standing(partition: number): bigint | undefined {
    return this.next.get(partition);
  }

  /** A batch up to `lastOffset` was applied. */
  applied(partition: number, lastOffset: number): void {
    this.next.set(partition, BigInt(lastOffset) + 1n);
  }
}
