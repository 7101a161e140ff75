import type { Cluster, Redis } from "ioredis";
import type { SpendKeys } from "./keys.js";
import { scanKeys } from "./redis-scan.js";

/** Keys asked of SCAN per step. */
const SCAN_COUNT = 1_000;

/** What one SCAN pass over the store's keys found: the input of every periodic job of the tracker. */
export interface KeyspaceListing {
  /** Advertiser hash keys (`<prefix>adv:{<id>}`), each once. */
  readonly advertiserKeys: readonly string[];
  /** Hash tags (`{<id>}`) of advertisers with a reservation expiries key (`<prefix>resvexp:{<id>}`), each once. */
  readonly reservationTags: readonly string[];
}

/** Counters of the passes actually run (SCAN calls summed over every master). */
export interface KeyspacePassStats {
  passes: number;
  scanCalls: number;
}

/**
 * One SCAN of every master per pass, shared by the periodic jobs (pacing and rollover sweep, forecast refresh,
 * shape refresh, reservation expiry): SCAN walks the whole keyspace whatever MATCH says, so each job scanning
 * on its own paid for the whole keyspace once per job and turn. A pass started at most `reuseMs` ago (or still
 * running) is handed to every job that asks; 0 = a new pass for every call. `forget()` drops the pass (a
 * restore, wipe or rebuild changed which keys exist). A key created after the pass began is seen by the next
 * pass, at most `reuseMs` later; a key deleted since is harmless (every job's script skips a missing hash).
 */
export class KeyspacePass {
  readonly stats: KeyspacePassStats = { passes: 0, scanCalls: 0 };
  private current: { readonly startedAt: number; readonly listing: Promise<KeyspaceListing> } | null = null;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly keys: SpendKeys,
    private readonly reuseMs: number,
    /** Monotonic ms: the reuse window runs on the machine's clock, never the store's (injectable) budget clock. */
    private readonly monotonicMs: () => number = () => performance.now(),
  ) {}

  /**
   * The listing of a pass started within `reuseMs` (or running), else of a new pass. `fresh`: always a new
   * pass (then shared with the jobs after it), for a job that must see every key existing when it starts.
   */
  listing(fresh = false): Promise<KeyspaceListing> {
    const now = this.monotonicMs();
    const current = this.current;
    if (!fresh && this.reuseMs > 0 && current !== null && now - current.startedAt < this.reuseMs) {
      return current.listing;
    }
    const listing = this.scan();
    const entry = { startedAt: now, listing };
    if (this.reuseMs > 0) this.current = entry;
    // A failed pass is not reused: the next caller scans again.
    listing.catch(() => {
      if (this.current === entry) this.current = null;
    });
    return listing;
  }

  /** The next listing() scans again (callers already waiting on a pass in flight keep its listing). */
  forget(): void {
    this.current = null;
  }

  private async scan(): Promise<KeyspaceListing> {
    const advertiserHead = `${this.keys.prefix}adv:{`;
    const expiriesHead = `${this.keys.prefix}resvexp:`;
    const advertiserKeys = new Set<string>();
    const reservationTags = new Set<string>();
    this.stats.passes++;
    const counted = (calls: number) => {
      this.stats.scanCalls += calls;
    };
    for await (const found of scanKeys(this.redis, this.keys.listingPattern, SCAN_COUNT, counted)) {
      for (const key of found) {
        if (key.startsWith(advertiserHead)) advertiserKeys.add(key);
        else if (key.startsWith(`${expiriesHead}{`)) reservationTags.add(key.slice(expiriesHead.length));
      }
    }
    return { advertiserKeys: [...advertiserKeys], reservationTags: [...reservationTags] };
  }
}

/**
 * Advertisers per pipeline of a periodic job (sweep, forecast and shape refresh, reservation expiry). Batches
 * share the job's Redis connection and event loop: a batch's pipeline waits behind the job's pipeline in flight
 * and behind the building and decoding of its chunks. With 500 per chunk a pacing sweep or forecast refresh of
 * 5,000 hashes delayed the batches by hundreds of ms every 5 s (produce → Redis p99, docs/performance.md); a
 * chunk of 100 keeps each wait to a few ms for a few more round trips per turn.
 */
export const JOB_CHUNK = 100;

/** `items` in chunks of `size` (the jobs pipeline one chunk per round trip). */
export function chunked<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let from = 0; from < items.length; from += size) chunks.push(items.slice(from, from + size));
  return chunks;
}
