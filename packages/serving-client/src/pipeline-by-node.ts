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
 * Sends commands pipelined, replies in the order given. A standalone server gets one pipeline (one round trip).
 * A Redis Cluster only pipelines commands of one node, so the commands are grouped by the master of their slot
 * and the groups sent in parallel (one round trip per node); commands of one slot keep their order.
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
    // Before the slot map is known every slot is its own group, which is always routable.
    const node = redis.slots[slot]?.[0] ?? `slot:${slot}`;
    const group = groups.get(node);
    if (group === undefined) groups.set(node, [index]);
    else group.push(index);
  });
  const replies: PipelineReply[] = new Array(commands.length);
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      const groupReplies = await execGroup(
        redis,
        indexes.map((i) => commands[i] as RoutedCommand),
      );
      indexes.forEach((commandIndex, i) => {
        replies[commandIndex] = groupReplies[i] ?? [new Error("no reply from Redis"), null];
      });
    }),
  );
  return replies;
}

async function execGroup(
  redis: Redis | Cluster,
  commands: readonly RoutedCommand[],
): Promise<PipelineReply[]> {
  const pipeline = redis.pipeline();
  for (const { command, args } of commands) pipeline.call(command, [...args]);
  return ((await pipeline.exec()) ?? []) as PipelineReply[];
}
