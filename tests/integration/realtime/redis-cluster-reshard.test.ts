import { createServingClient, execByNode, hashSlot, type RoutedCommand } from "@adpipe/serving-client";
import { type Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrivateRedisCluster } from "../../support/private-redis-cluster.js";

// Pipelines across slots that a `redis-cli --cluster reshard` moved while the client still had the old slot map:
// each moved slot answers MOVED with its own slot number, which ioredis does not follow inside a pipeline. A
// private cluster (random ports): the shared one on 7000-7005 is never resharded.

let cluster: PrivateRedisCluster;
let client: Cluster;

/** A key with hash tag `{tag}` whose slot is `slot` (searching counters; ~16k tries on average). */
function keyInSlot(slot: number, name: string): string {
  for (let i = 0; ; i++) {
    const key = `reshard:${name}:{t${i}}`;
    if (hashSlot(key) === slot) return key;
  }
}

beforeAll(async () => {
  cluster = await PrivateRedisCluster.start();
  // The client reads CLUSTER SLOTS once at start: wait until it lists every master's replica.
  const probe = new Redis(cluster.basePort, "127.0.0.1");
  try {
    for (let i = 0; ; i++) {
      const ranges = (await probe.cluster("SLOTS")) as unknown[][];
      if (ranges.length > 0 && ranges.every((range) => range.length >= 4)) break;
      if (i > 300) throw new Error("the replicas never showed in CLUSTER SLOTS");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    probe.disconnect();
  }
  client = cluster.client();
  await client.ping();
}, 180_000);

afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
}, 60_000);

describe("execByNode on a Redis Cluster whose slots were resharded under it", () => {
  it("follows MOVED for commands of several moved slots in one call: every write once, every read right", async () => {
    const [source, target] = await cluster.masters();
    if (source === undefined || target === undefined) throw new Error("the cluster has no two masters");
    const firstRange = source.slots[0];
    if (firstRange === undefined) throw new Error("the source master serves no slot");
    // Three slots redis-cli moves (it takes the source's lowest slots first) and one that stays.
    const moving = [firstRange[0], firstRange[0] + 1, firstRange[0] + 2];
    const staying = firstRange[0] + 100;
    const keys = [...moving, staying].map((slot, i) => keyInSlot(slot, `k${i}`));
    const counters = [...moving, staying].map((slot, i) => keyInSlot(slot, `c${i}`));
    for (const [i, key] of keys.entries()) await client.set(key, `v${i}`);
    // The client's slot map says the source serves them; now they move (keys included) behind its back.
    expect(client.slots[moving[0] as number]?.[0]).toBe(`127.0.0.1:${source.port}`);
    await cluster.reshard(source.id, target.id, moving.length);
    const moved = (await cluster.masters()).find((n) => n.id === target.id);
    for (const slot of moving)
      expect(
        moved?.slots.some(([from, to]) => slot >= from && slot <= to),
        `slot ${slot} moved`,
      ).toBe(true);

    const commands: RoutedCommand[] = [
      ...keys.map((key) => ({ key, command: "GET", args: [key] })),
      ...counters.map((key) => ({ key, command: "INCRBY", args: [key, 5] })),
    ];
    const replies = await execByNode(client, commands);
    expect(replies).toEqual([...keys.map((_, i) => [null, `v${i}`]), ...counters.map(() => [null, 5])]);
    // Each write ran exactly once (a redirected command is sent again only because it did not run).
    for (const key of counters) expect(await client.get(key)).toBe("5");
    // The client learnt the new owner of the moved slots.
    expect(client.slots[moving[0] as number]?.[0]).toBe(`127.0.0.1:${target.port}`);
  }, 120_000);

  it("pipelines slots of one master whose node lists differ (as ioredis records them after a MOVED)", async () => {
    const [master] = await cluster.masters();
    const range = master?.slots[0];
    if (master === undefined || range === undefined) throw new Error("no master with slots");
    const address = `127.0.0.1:${master.port}`;
    // Away from the lowest slots the first test moved (their lists are already one node).
    const [a, b] = [range[0] + 50, range[0] + 51];
    const keys = [keyInSlot(a, "ga"), keyInSlot(b, "gb")];
    await client.set(keys[0] as string, "a");
    await client.set(keys[1] as string, "b");
    // What ioredis does when it follows a MOVED for slot a: the new master alone, without its replica, until
    // the next refresh; slot b keeps master + replica. ioredis then refuses a pipeline holding both slots.
    const internals = client as unknown as {
      _groupsBySlot: (number | undefined)[];
      _groupsIds: Record<string, number>;
    };
    client.slots[a] = [address];
    internals._groupsBySlot[a] = internals._groupsIds[address];
    expect(client.slots[b]).toEqual([address, expect.any(String)]);
    expect(internals._groupsBySlot[a]).not.toBe(internals._groupsBySlot[b]);
    const replies = await execByNode(
      client,
      keys.map((key) => ({ key, command: "GET", args: [key] })),
    );
    expect(replies).toEqual([
      [null, "a"],
      [null, "b"],
    ]);
  }, 60_000);

  it("the serving client's batch lookup answers across slots moved after it read the slot map", async () => {
    const masters = await cluster.masters();
    const source = masters.find((node) => node.slots.length > 0 && node.slots[0]?.[0] !== undefined);
    const target = masters.find((node) => node.id !== source?.id);
    if (source === undefined || target === undefined) throw new Error("the cluster has no two masters");
    const start = (source.slots[0] as readonly [number, number])[0];
    const prefix = "reshard-serving:";
    const ids: string[] = [];
    for (const slot of [start, start + 1]) {
      for (let i = 0; ids.length < (slot === start ? 1 : 2); i++) {
        if (hashSlot(`${prefix}adv:{a${i}}`) === slot) ids.push(`a${i}`);
      }
    }
    for (const id of ids)
      await client.hset(`${prefix}adv:{${id}}`, {
        can_serve: "0",
        reason: "budget_exhausted",
        period: "2026-12-05",
        net_micros: "10",
        gross_micros: "11",
        budget_micros: "10",
        budget_source: "api",
        clicks: "1",
        updated_at: "1",
      });
    const serving = createServingClient({ redis: client, prefix });
    await cluster.reshard(source.id, target.id, 2);
    const answers = await serving.getMany(ids);
    for (const id of ids) expect(answers.get(id)).toMatchObject({ canServe: false, netMicros: 10 });
    await serving.close();
  }, 120_000);
});
