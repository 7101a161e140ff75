/**
 * What the HTTP layer needs from the outside world. main.ts wires real Kafka/Redis/Postgres objects
 * behind these; integration tests wire the same real objects with their own topic, prefix and database.
 */

export interface PublishRecord {
  /** Partition key: the advertiser_id, so one advertiser's events stay in order. */
  readonly key: string;
  readonly value: string;
  /** Record timestamp (CreateTime): the reference clock both pipelines judge the event against. */
  readonly timestampMs: number;
}

export interface EventPublisher {
  /** Produces the records in one request with acks from all in-sync replicas; rejects when not acknowledged. */
  publish(records: readonly PublishRecord[]): Promise<void>;
}

/** Forces serving off (reason `paused`) or lets the tracker's rule decide again. */
export interface PauseControl {
  setPaused(advertiserId: string, paused: boolean): Promise<void>;
}

export interface ConsumerGroupLag {
  readonly group: string;
  /** Sum over partitions of (high watermark − committed offset); null when the group has no commits. */
  readonly lag: number | null;
}

/** A partition a service found reset (topic deleted and recreated), from ingest.topic_reset_detections. */
export interface TopicResetState {
  readonly service: string;
  readonly consumer: string;
  readonly partition: number;
  readonly stored_offset: string | null;
  readonly log_end_offset: string | null;
  readonly reason: string;
  readonly detected_at: string;
}

export interface PipelineHealth {
  readonly topic: string;
  /** Records appended to the topic per second, over the last sampling interval; null until two samples exist. */
  readonly events_per_second: number | null;
  readonly total_records: number | null;
  readonly consumer_groups: ConsumerGroupLag[];
  /**
   * Seconds between now and the newest event time in Gold that is not dated in the future (never negative);
   * null when Gold has no such event or is unreachable.
   */
  readonly gold_freshness_seconds: number | null;
  readonly gold_latest_event_at: string | null;
  /** Gold rows whose newest event is dated after now (wrong producer clocks), apart from freshness. */
  readonly gold_future_events: {
    readonly rows: number;
    readonly advertisers: number;
    readonly latest_event_at: string;
    readonly ahead_seconds: number;
    /** Ahead by more than ordinary clock skew: shown as a warning. */
    readonly warning: boolean;
  } | null;
  /** Detected topic resets: consumption of the topic stopped until `adpipe offsets reset` (shown in red). */
  readonly topic_resets: TopicResetState[];
  readonly sampled_at: string;
  /** Dependencies that failed while sampling (the rest of the answer is still valid). */
  readonly errors: string[];
}

export interface PipelineHealthSource {
  snapshot(): Promise<PipelineHealth>;
}
