import { setTimeout as sleep } from "node:timers/promises";
import {
  type BudgetMode,
  formatIsoUtc,
  type GeneratedRecord,
  MICROS_PER_UNIT,
  microsToNumberString,
  Prng,
} from "@adpipe/core";

/**
 * Simulated ad servers for the overspend bench and the integrity suite. An offer is an impression an ad server
 * could show for an advertiser; the click it brings costs `costMicros`, at most `maxCostMicros`. Two servers
 * see the same offers, each for its own twin of the advertiser:
 *
 * - observe (`obs-<n>`): serves when `can_serve` says so (today's advisory check);
 * - hard_cap (`cap-<n>`): serves only what a reservation of `maxCostMicros` was granted for, and the click
 *   carries the reservation's id, so the tracker settles it when it applies the click.
 *
 * A served impression turns into a click 0–`clickDelayMs` later (the user's reaction time), produced then with
 * the emit time as event and record timestamp. Every served click is valid and unique, so what the tracker
 * counts for an advertiser must equal what the ad server served: the `served` ledger is the check of both.
 */

export interface Offer {
  /** 0-based index of the advertiser among `advertisers`. */
  readonly advertiser: number;
  readonly costMicros: number;
  /** Sequence number of the offer in the stream (ids derive from it). */
  readonly seq: number;
}

export interface OfferStreamOptions {
  readonly seed: number;
  readonly advertisers: number;
  /** Click costs are uniform in [minCostMicros, maxCostMicros]. */
  readonly minCostMicros: number;
  readonly maxCostMicros: number;
}

/** The offered stream: uniform over advertisers, uniform costs; the same seed gives the same offers. */
export class OfferStream {
  private readonly rng: Prng;
  private seq = 0;

  constructor(private readonly options: OfferStreamOptions) {
    if (options.minCostMicros <= 0 || options.maxCostMicros < options.minCostMicros)
      throw new Error("offer costs need 0 < minCostMicros <= maxCostMicros");
    this.rng = new Prng(options.seed);
  }

  next(): Offer {
    return {
      advertiser: this.rng.int(0, this.options.advertisers - 1),
      costMicros: this.rng.int(this.options.minCostMicros, this.options.maxCostMicros),
      seq: this.seq++,
    };
  }

  /** Mean cost of a click (the budgets of a run are sized with it). */
  get meanCostMicros(): number {
    return (this.options.minCostMicros + this.options.maxCostMicros) / 2;
  }
}

const MODE_TAG: Record<BudgetMode, string> = { observe: "obs", hard_cap: "cap" };

/** The advertiser id of one mode's twin: `obs-0007`, `cap-0007`. */
export function twinAdvertiserId(mode: BudgetMode, index: number): string {
  return `${MODE_TAG[mode]}-${String(index).padStart(4, "0")}`;
}

const encoder = new TextEncoder();

/** An explicit budget_update setting the budget and the mode (the mode is only read in budget updates). */
export function budgetRecord(
  advertiserId: string,
  budgetMicros: number,
  mode: BudgetMode,
  nowMs: number,
): GeneratedRecord {
  const json = `{"event_type":"budget_update","advertiser":${JSON.stringify(advertiserId)},"advertiser_id":${JSON.stringify(advertiserId)},"budget_value":${microsToNumberString(budgetMicros)},"budget_mode":"${mode}","timestamp":"${formatIsoUtc(nowMs)}"}`;
  return { key: advertiserId, value: encoder.encode(json), timestampMs: nowMs, kind: "budget_update" };
}

/** A valid click; `reservationId` only for clicks served under a reservation. */
export function clickRecord(
  advertiserId: string,
  clickId: string,
  costMicros: number,
  nowMs: number,
  reservationId: string | null,
): GeneratedRecord {
  const reservation = reservationId === null ? "" : `,"reservation_id":${JSON.stringify(reservationId)}`;
  const json = `{"event_type":"ad_click","click_id":${JSON.stringify(clickId)},"advertiser":${JSON.stringify(advertiserId)},"advertiser_id":${JSON.stringify(advertiserId)},"ad_id":"ad-1","amount":${microsToNumberString(costMicros)}${reservation},"timestamp":"${formatIsoUtc(nowMs)}"}`;
  return { key: advertiserId, value: encoder.encode(json), timestampMs: nowMs, kind: "click" };
}

/** What the hard_cap server needs of the serving client (`@adpipe/serving-client`'s reserveMany). */
export interface Reserver {
  reserveMany(
    requests: readonly {
      advertiserId: string;
      reservationId: string;
      maxCostMicros: number;
      ttlMs: number;
    }[],
  ): Promise<readonly { readonly granted: boolean }[]>;
}

/** What the observe server needs of the serving client. */
export interface ServingChecker {
  canServeMany(advertiserIds: readonly string[]): Promise<Map<string, boolean>>;
}

/** A served impression waiting for its click. */
interface PendingClick {
  readonly atMs: number;
  readonly advertiserId: string;
  readonly clickId: string;
  readonly costMicros: number;
  readonly reservationId: string | null;
}

export interface ServerTally {
  /** Offers this server decided on (one per offer of the stream). */
  offers: number;
  /** Offers served: can_serve was true (observe) or a reservation was granted (hard_cap). */
  grants: number;
  refused: number;
  /** Clicks produced (a served impression is a click once its delay passed). */
  clicks: number;
  /** Micros of the produced clicks per advertiser id: what the tracker must have counted. */
  readonly served: Map<string, number>;
}

/** Granularity of click emission: the ad servers' tick. */
const BUCKET_MS = 10;

const emptyTally = (): ServerTally => ({ offers: 0, grants: 0, refused: 0, clicks: 0, served: new Map() });

export interface AdServerOptions {
  readonly mode: BudgetMode;
  /** Unique per run: click and reservation ids start with it. */
  readonly runId: string;
  /** The most a click can cost: what a reservation holds (hard_cap). */
  readonly maxCostMicros: number;
  /** Reservation TTL (hard_cap); clicks arrive well within it (`clickDelayMs` plus produce time). */
  readonly ttlMs: number;
  /** A served impression's click comes uniformly 0–clickDelayMs later. */
  readonly clickDelayMs: number;
  readonly seed: number;
}

/**
 * One simulated ad server: `decide` asks Redis once for a batch of offers (canServeMany or reserveMany) and
 * schedules the clicks of the served ones; `due` hands out the clicks whose time came, ready to produce.
 */
export class AdServer {
  readonly tally: ServerTally = emptyTally();
  private readonly rng: Prng;
  /** Pending clicks by 10 ms bucket of their emit time (at most clickDelayMs / 10 ms buckets). */
  private readonly pending = new Map<number, PendingClick[]>();
  private pendingCount = 0;

  constructor(
    private readonly options: AdServerOptions,
    private readonly client: ServingChecker & Reserver,
  ) {
    this.rng = new Prng(options.seed);
  }

  get mode(): BudgetMode {
    return this.options.mode;
  }

  get pendingClicks(): number {
    return this.pendingCount;
  }

  async decide(offers: readonly Offer[], nowMs: number): Promise<void> {
    if (offers.length === 0) return;
    const { mode, runId } = this.options;
    const tag = MODE_TAG[mode];
    const ids = offers.map((offer) => twinAdvertiserId(mode, offer.advertiser));
    const reservationIds = offers.map((offer) => `${runId}-${tag}-r${offer.seq.toString(36)}`);
    let served: boolean[];
    if (mode === "hard_cap") {
      const results = await this.client.reserveMany(
        offers.map((_, i) => ({
          advertiserId: ids[i] as string,
          reservationId: reservationIds[i] as string,
          maxCostMicros: this.options.maxCostMicros,
          ttlMs: this.options.ttlMs,
        })),
      );
      if (results.length !== offers.length)
        throw new Error(`reserveMany answered ${results.length} of ${offers.length} requests`);
      served = results.map((result) => result.granted);
    } else {
      const answers = await this.client.canServeMany(ids);
      served = ids.map((id) => answers.get(id) === true);
    }
    offers.forEach((offer, i) => {
      this.tally.offers += 1;
      if (!served[i]) {
        this.tally.refused += 1;
        return;
      }
      this.tally.grants += 1;
      this.schedule({
        atMs: nowMs + this.rng.int(0, this.options.clickDelayMs),
        advertiserId: ids[i] as string,
        clickId: `${runId}-${tag}-c${offer.seq.toString(36)}`,
        costMicros: offer.costMicros,
        reservationId: mode === "hard_cap" ? (reservationIds[i] as string) : null,
      });
    });
  }

  /** The clicks due at `nowMs` (every pending one with Infinity), as records stamped with the emit time. */
  due(nowMs: number): GeneratedRecord[] {
    const last = Number.isFinite(nowMs) ? Math.floor(nowMs / BUCKET_MS) : Number.POSITIVE_INFINITY;
    const buckets = [...this.pending.keys()].filter((bucket) => bucket <= last).sort((a, b) => a - b);
    const stamp = Number.isFinite(nowMs) ? nowMs : Date.now();
    const records: GeneratedRecord[] = [];
    for (const bucket of buckets) {
      for (const click of this.pending.get(bucket) ?? []) {
        this.tally.clicks += 1;
        this.tally.served.set(
          click.advertiserId,
          (this.tally.served.get(click.advertiserId) ?? 0) + click.costMicros,
        );
        records.push(
          clickRecord(click.advertiserId, click.clickId, click.costMicros, stamp, click.reservationId),
        );
      }
      this.pendingCount -= this.pending.get(bucket)?.length ?? 0;
      this.pending.delete(bucket);
    }
    return records;
  }

  private schedule(click: PendingClick): void {
    const bucket = Math.floor(click.atMs / BUCKET_MS);
    const list = this.pending.get(bucket);
    if (list === undefined) this.pending.set(bucket, [click]);
    else list.push(click);
    this.pendingCount += 1;
  }
}

/** Where the offering stands, for the loop's caller to decide on. */
export interface OfferProgress {
  readonly elapsedMs: number;
  readonly offered: number;
  /** Σ cost of the offers so far: the demand, to compare with the budgets. */
  readonly offeredMicros: number;
}

export interface OfferLoopOptions {
  readonly servers: readonly AdServer[];
  readonly offers: OfferStream;
  readonly ratePerSecond: number;
  /** Asked before every tick; offering stops at the first false. */
  keepOffering(progress: OfferProgress): boolean;
  /** Produces clicks; several sends are in flight at once (up to `maxInFlight`). */
  send(records: readonly GeneratedRecord[]): Promise<void>;
  readonly maxInFlight?: number;
  /**
   * Ticks whose decisions may still wait for Redis while the next tick starts (default 4): an ad server decides
   * for concurrent requests, and one round trip at a time would cap the offer rate at the round-trip time.
   */
  readonly maxDecisionsInFlight?: number;
}

/**
 * The ad servers' loop: every 10 ms the offers due at the rate go to every server (one Redis round trip each,
 * a few ticks' decisions in flight at once), and the clicks whose time came are produced. Once `keepOffering` says no, no more offers; the clicks of
 * impressions already served are still produced at their time, and every send has completed when it resolves.
 */
export async function runOffers(options: OfferLoopOptions): Promise<OfferProgress> {
  const { servers, offers, ratePerSecond } = options;
  const maxInFlight = options.maxInFlight ?? 8;
  const maxDecisions = options.maxDecisionsInFlight ?? 4;
  const inFlight: Promise<void>[] = [];
  const deciding: Promise<unknown>[] = [];
  const emit = async (nowMs: number) => {
    const records = servers.flatMap((server) => server.due(nowMs));
    if (records.length === 0) return;
    inFlight.push(options.send(records));
    if (inFlight.length >= maxInFlight) await inFlight.shift();
  };
  // At most 100 ms of offers per decision: a loop that fell behind catches up in bounded batches.
  const maxPerTick = Math.max(1, Math.ceil(ratePerSecond / 10));
  const started = Date.now();
  let offered = 0;
  let offeredMicros = 0;
  const progress = (): OfferProgress => ({ elapsedMs: Date.now() - started, offered, offeredMicros });
  while (options.keepOffering(progress())) {
    const tickStart = Date.now();
    const due = Math.floor(((tickStart - started) * ratePerSecond) / 1000);
    const batch: Offer[] = [];
    for (; offered < due && batch.length < maxPerTick; offered++) {
      const offer = offers.next();
      offeredMicros += offer.costMicros;
      batch.push(offer);
    }
    deciding.push(Promise.all(servers.map((server) => server.decide(batch, tickStart))));
    if (deciding.length >= maxDecisions) await deciding.shift();
    await emit(Date.now());
    if (offered >= due) await sleep(BUCKET_MS);
  }
  await Promise.all(deciding);
  const done = progress();
  while (servers.some((server) => server.pendingClicks > 0)) {
    await emit(Date.now());
    await sleep(BUCKET_MS);
  }
  await Promise.all(inFlight);
  return done;
}

/** Units for log lines (1 unit = 1,000,000 micros). */
export const units = (micros: number): string => (micros / MICROS_PER_UNIT).toFixed(2);
