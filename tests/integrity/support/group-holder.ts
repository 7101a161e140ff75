import { setTimeout as sleep } from "node:timers/promises";
import { AssignerProtocol, type Kafka } from "kafkajs";

/** The parts of kafkajs' internal coordinator connection the holder uses (kafkajs has no public API for them). */
interface CoordinatorBroker {
  joinGroup(request: {
    groupId: string;
    sessionTimeout: number;
    rebalanceTimeout: number;
    memberId?: string;
    groupProtocols: { name: string; metadata: Buffer }[];
  }): Promise<{ generationId: number; leaderId: string; memberId: string; groupProtocol: string }>;
  syncGroup(request: {
    groupId: string;
    generationId: number;
    memberId: string;
    groupAssignment: never[];
  }): Promise<unknown>;
  heartbeat(request: { groupId: string; groupGenerationId: number; memberId: string }): Promise<unknown>;
  leaveGroup(request: { groupId: string; memberId: string }): Promise<unknown>;
}
interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  findGroupCoordinator(request: { groupId: string }): Promise<CoordinatorBroker>;
}

/** kafkajs builds its clusters through a private symbol of the Kafka instance; the holder needs a raw one. */
function internalCluster(kafka: Kafka): InternalCluster {
  const owner = kafka as unknown as Record<symbol, unknown>;
  const symbol = Object.getOwnPropertySymbols(owner).find(
    (s) => s.description === "private:Kafka:createCluster",
  );
  const create = symbol === undefined ? undefined : owner[symbol];
  if (typeof create !== "function")
    throw new Error("GroupHolder: kafkajs no longer has private:Kafka:createCluster (kafkajs upgraded?)");
  return create.call(kafka, { allowAutoTopicCreation: false }) as InternalCluster;
}

const SESSION_TIMEOUT_MS = 30_000;
/** How long the coordinator waits for the holder to rejoin before dropping it: the longest possible hold. */
const REBALANCE_TIMEOUT_MS = 60_000;

/**
 * A consumer-group member owned by the test, speaking the group protocol directly: it joins a group of service
 * replicas, then, when a rebalance starts, does not rejoin until released. The coordinator waits for every known
 * member before it completes a rebalance, so the group provably stays in PreparingRebalance while the holder
 * holds it — a fault injected meanwhile lands inside the rebalance, however fast the replicas rejoin.
 *
 * It fetches and commits nothing. While it is a member (seconds, around one chaos action) the assignor gives
 * it a share of the partitions, which then wait; after it leaves they go back to the replicas, which resume from
 * their own stored offsets — records are delayed, never skipped, so the exactly-once checks see everything.
 */
export class GroupHolder {
  private stopped = false;
  private rebalancing = false;
  private lost = false;
  private readonly heartbeats: Promise<void>;

  private constructor(
    private readonly cluster: InternalCluster,
    private readonly coordinator: CoordinatorBroker,
    readonly groupId: string,
    readonly memberId: string,
    readonly generationId: number,
  ) {
    this.heartbeats = this.heartbeatLoop();
  }

  /**
   * Joins `groupId` (which must have members: the holder must not become the leader that assigns) with the
   * group's assignor `protocol`, subscribed to `topic`. Resolves once the holder is in a stable generation.
   */
  static async join(kafka: Kafka, groupId: string, topic: string, protocol: string): Promise<GroupHolder> {
    const cluster = internalCluster(kafka);
    await cluster.connect();
    try {
      const coordinator = await cluster.findGroupCoordinator({ groupId });
      const metadata = AssignerProtocol.MemberMetadata.encode({
        version: 0,
        topics: [topic],
        userData: Buffer.alloc(0),
      });
      const joined = await coordinator.joinGroup({
        groupId,
        sessionTimeout: SESSION_TIMEOUT_MS,
        rebalanceTimeout: REBALANCE_TIMEOUT_MS,
        groupProtocols: [{ name: protocol, metadata }],
      });
      if (joined.leaderId === joined.memberId) {
        await coordinator.leaveGroup({ groupId, memberId: joined.memberId }).catch(() => undefined);
        throw new Error(`GroupHolder: became the leader of ${groupId} (the group had no other member)`);
      }
      await coordinator.syncGroup({
        groupId,
        generationId: joined.generationId,
        memberId: joined.memberId,
        groupAssignment: [],
      });
      return new GroupHolder(cluster, coordinator, groupId, joined.memberId, joined.generationId);
    } catch (error) {
      await cluster.disconnect().catch(() => undefined);
      throw error;
    }
  }

  /** Heartbeats keep the holder a member; REBALANCE_IN_PROGRESS is the coordinator saying a rebalance began. */
  private async heartbeatLoop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.coordinator.heartbeat({
          groupId: this.groupId,
          groupGenerationId: this.generationId,
          memberId: this.memberId,
        });
      } catch (error) {
        const type = (error as { type?: string }).type;
        if (type === "REBALANCE_IN_PROGRESS") this.rebalancing = true;
        // No longer a member of this generation: it can hold nothing.
        if (type === "UNKNOWN_MEMBER_ID" || type === "ILLEGAL_GENERATION") this.lost = true;
      }
      await sleep(this.rebalancing ? 500 : 50);
    }
  }

  /**
   * Until the coordinator reports a rebalance of the holder's generation (which then cannot complete before the
   * holder rejoins or leaves): true. False when the holder is no longer a member, or after `timeoutMs`.
   */
  async waitForRebalance(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.rebalancing && !this.lost && Date.now() < deadline) await sleep(20);
    return this.rebalancing && !this.lost;
  }

  /** Leaves the group: a rebalance it held completes with the other members. */
  async release(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.heartbeats;
    try {
      await this.coordinator.leaveGroup({ groupId: this.groupId, memberId: this.memberId });
    } finally {
      await this.cluster.disconnect().catch(() => undefined);
    }
  }
}
