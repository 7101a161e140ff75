/// <reference path="./cluster-key-slot.d.ts" />
import calculateSlot from "cluster-key-slot";
import type { Cluster, Redis } from "ioredis";
import { isRedisCluster } from "./connect.js";

export type RedisArgument = string | number | Buffer;

/** One command of a pipeline, with the key that routes it (its first key). */
export interface RoutedCommand {
  readonly key: string;
  readonly command: string;
  readonly args: readonly RedisArgument[];
}

/** The Redis Cluster hash slot (0..16383) of a key, honouring `{hash tags}`. */
export function hashSlot(key: string): number {
  return calculateSlot(key);
}

/** ioredis' pipeline reply: [error, result] per command. */
export type PipelineReply = [Error | null, unknown];

/**
 * Replies of a Redis Cluster to a command it did not run: the slot moved (MOVED), is being migrated (ASK, or
 * TRYAGAIN for keys split between the two nodes), or has no master for the moment (CLUSTERDOWN).
 */
const NOT_RUN = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN) /;

/** ioredis' refusal of a pipeline whose slots it maps to different nodes (nothing of it was sent). */
const NOT_ONE_GROUP = /^All keys in the pipeline should belong to the same slots allocation group/;

/**
 * Sends commands pipelined, replies in the order given. A standalone server gets one pipeline (one round trip).
 * A Redis Cluster only pipelines commands of one node, so the commands are grouped by the master of their slot
 * and the groups sent in parallel (one round trip per node); commands of one slot keep their order.
 *
 * ioredis follows a redirection inside a pipeline only when every failed command of it got the very same one.
 * During a slot migration (`redis-cli --cluster reshard`) or after a failover, a pipeline spanning several
 * slots gets MOVED/ASK/TRYAGAIN for some of its commands and other replies for the rest; those commands did not
 * run, so they are sent again one by one (in their order within a slot) through the client's own redirection
 * handling, which also refreshes its slot map on MOVED. Without it every batch touching a moved slot failed
 * until the client's periodic slot refresh.
 */
export async function execByNode(
  redis: Redis | Cluster,
  commands: readonly RoutedCommand[],
): Promise<PipelineReply[]> {
  if (commands.length === 0) return [];
  if (!isRedisCluster(redis)) return execGroup(redis, commands);
  const groups = new Map<string, number[]>();
  commands.forEach((command, index) => {
    const slot = hashSlot(command.key);
    // ioredis pipelines only slots with the same node list (master and replicas, its "slots allocation
    // group"), not merely the same master: after a MOVED it records the new master alone for that slot until
    // the next refresh. Before the slot map is known every slot is its own group, which is always routable.
    const nodes = redis.slots[slot]?.join(";") || `slot:${slot}`;
    const group = groups.get(nodes);
    if (group === undefined) groups.set(nodes, [index]);
    else group.push(index);
  });
  const replies: PipelineReply[] = new Array(commands.length);
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      const group = indexes.map((i) => commands[i] as RoutedCommand);
      const groupReplies = await execGroup(redis, group).catch((error: unknown) => {
        // The slot map changed between grouping and sending (a refresh in between): ioredis refused the
        // pipeline before sending anything, so every command goes again on its own.
        if (!(error instanceof Error) || !NOT_ONE_GROUP.test(error.message)) throw error;
        return group.map((): PipelineReply => [error, null]);
      });
      indexes.forEach((commandIndex, i) => {
        replies[commandIndex] = groupReplies[i] ?? [new Error("no reply from Redis"), null];
      });
    }),
  );
  await resendNotRun(redis, commands, replies);
  return replies;
}

/** Sends every command that a cluster node answered with NOT_RUN again on its own, slots in parallel. */
async function resendNotRun(
  redis: Cluster,
  commands: readonly RoutedCommand[],
  replies: PipelineReply[],
): Promise<void> {
  const bySlot = new Map<number, number[]>();
  replies.forEach(([error], index) => {
    if (error === null || !(NOT_RUN.test(error.message) || NOT_ONE_GROUP.test(error.message))) return;
    const slot = hashSlot((commands[index] as RoutedCommand).key);
    const list = bySlot.get(slot);
    if (list === undefined) bySlot.set(slot, [index]);
    else list.push(index);
  });
  await Promise.all(
    [...bySlot.values()].map(async (indexes) => {
      for (const index of indexes) {
        const { command, args } = commands[index] as RoutedCommand;
        replies[index] = await redis.call(command, ...args).then(
          (value): PipelineReply => [null, value],
          (error: unknown): PipelineReply => [
            error instanceof Error ? error : new Error(String(error)),
            null,
          ],
        );
      }
    }),
  );
}

async function execGroup(
  redis: Redis | Cluster,
  commands: readonly RoutedCommand[],
): Promise<PipelineReply[]> {
  const pipeline = redis.pipeline();
  for (const { command, args } of commands) pipeline.call(command, [...args]);
  return ((await pipeline.exec()) ?? []) as PipelineReply[];
}
