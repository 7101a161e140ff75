/**
 * `adpipe replay-capture`: Event Hubs Capture (Avro) files -> Bronze/Silver/Gold with the ingestor's rules, checked
 * against core's oracle exactly like the Kafka path (tests/integration/warehouse/ingestor.test.ts): Gold, Bronze by
 * rejection reason and every view. Files are made from generated streams here (tests/support/capture-files.ts),
 * plus a committed fixture (tests/fixtures/event-hubs-capture) written as Capture writes EnqueuedTimeUtc.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { readCaptureEvents } from "@adpipe/capture";
import { generateStream } from "@adpipe/core";
import { Oracle } from "@adpipe/core/testing";
import { type KafkaRecord, writeBatch } from "@adpipe/warehouse";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  register as registerReplay,
  replayCapture,
} from "../../../packages/cli/src/commands/replay-capture.js";
import { buildProgram, runProgram } from "../../../packages/cli/src/program.js";
import {
  CAPTURE_FIXTURE,
  type CaptureTree,
  captureTree,
  writeCaptureTree,
} from "../../support/capture-files.js";
import { REPO_ROOT } from "../../support/index.js";
import { TestIdentityProvider } from "../../support/test-idp.js";
import { type Azurite, startAzurite } from "../lake/support.js";
import {
  bronzeByReason,
  createTestDatabase,
  expectedBronzeByReason,
  expectedGold,
  outcomeTimelines,
  readGold,
  type TestDatabase,
  viewsVersusOracle,
} from "./support.js";

const HUB = "ad-clicks";
const FIXTURE = join(REPO_ROOT, CAPTURE_FIXTURE.directory);

const databases: TestDatabase[] = [];
const dirs: string[] = [];
async function database(): Promise<TestDatabase> {
  const db = await createTestDatabase("capture");
  databases.push(db);
  return db;
}
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "adpipe-capture-"));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.allSettled(databases.map((db) => db.drop()));
  await Promise.allSettled(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const savedEnv = { ...process.env };
afterEach(() => {
  process.env = { ...savedEnv };
});

/** Runs `adpipe replay-capture ...` in-process against `db`; returns the exit code and what it printed. */
async function adpipe(db: TestDatabase, args: string[], env: Record<string, string> = {}) {
  Object.assign(process.env, { DATABASE_URL: db.url, WAREHOUSE_RETENTION_DAYS: "0", ...env });
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => lines.push(parts.join(" "));
  const errors: string[] = [];
  const error = console.error;
  try {
    const code = await runProgram(buildProgram([registerReplay]), [
      "node",
      "adpipe",
      "replay-capture",
      ...args,
    ]).catch((e: unknown) => {
      errors.push(e instanceof Error ? e.message : String(e));
      return (e as { exitCode?: number }).exitCode ?? 70;
    });
    return { code, out: lines.join("\n"), err: errors.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

function range(tree: CaptureTree): { from: string; to: string } {
  const times = tree.captured.map((c) => c.timestampMs);
  return {
    from: new Date(Math.min(...times)).toISOString(),
    to: new Date(Math.max(...times) + 1).toISOString(),
  };
}

/** The oracle over what the files hold, in stream order (one advertiser's records stay in one partition). */
function oracleOf(tree: CaptureTree): Oracle {
  return new Oracle({ keepOutcomes: true }).observeAll(
    tree.captured.map((c) => ({ ...c.record, timestampMs: c.timestampMs })),
  );
}

async function expectMatchesOracle(db: TestDatabase, oracle: Oracle): Promise<void> {
  expect(await readGold(db.pool)).toEqual(expectedGold(oracle));
  expect(await bronzeByReason(db.pool)).toEqual(expectedBronzeByReason(oracle));
  const { actual, expected } = await viewsVersusOracle(db.pool, oracle, outcomeTimelines(oracle));
  for (const viewName of Object.keys(expected))
    expect(actual[viewName], viewName).toEqual(expected[viewName]);
}

const REGENERATE =
  "regenerate the fixture: node --conditions=source --import tsx tests/tools/make-capture-fixture.ts";

async function countAvro(dir: string): Promise<number> {
  let n = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith(".avro")) n += 1;
  }
  return n;
}

function stream(seed: number, events: number, options: Partial<Parameters<typeof generateStream>[0]> = {}) {
  return [...generateStream({ seed, events, advertisers: 12, ...options })];
}

describe("adpipe replay-capture", () => {
  it("replays generated Capture files into exactly the oracle's Gold, Bronze and views; twice is once", async () => {
    const db = await database();
    const dir = await tempDir();
    const tree = await captureTree(stream(31, 6_000), { hub: HUB, partitions: 3 });
    writeCaptureTree(dir, tree);
    expect(tree.files.size).toBeGreaterThan(20);
    const { from, to } = range(tree);
    const args = [
      "--from",
      from,
      "--to",
      to,
      "--source",
      dir,
      "--topic",
      HUB,
      "--standalone",
      "--batch-size",
      "700",
    ];

    const first = await adpipe(db, args);
    expect(first.err).toBe("");
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/replayed 6000 Capture events in range .* 6000 written, 0 already in Bronze/);
    const oracle = oracleOf(tree);
    await expectMatchesOracle(db, oracle);
    // Lineage: topic = event hub, partition from the path, offset = sequence number.
    const { rows } = await db.pool.query<{ n: string; max: string }>(
      `SELECT count(DISTINCT ("partition", "offset"))::text AS n, max("offset")::text AS max
       FROM bronze.ad_click_events_raw WHERE topic = $1`,
      [HUB],
    );
    expect(Number(rows[0]?.n)).toBe(6_000);
    expect(Number(rows[0]?.max)).toBe(Math.max(...tree.captured.map((c) => c.sequenceNumber)));

    const second = await adpipe(db, args);
    expect(second.code).toBe(0);
    expect(second.out).toMatch(/0 written, 6000 already in Bronze/);
    await expectMatchesOracle(db, oracle);
  });

  it("fills in only what the live ingestor has passed, and leaves the rest to it (no collision, exact result)", async () => {
    const db = await database();
    const dir = await tempDir();
    // No duplicates: which copy of a click counts would depend on the order the two paths wrote them in.
    const records = stream(32, 3_000, { shares: { duplicate: 0 } });
    const tree = await captureTree(records, { hub: HUB, partitions: 2 });
    writeCaptureTree(dir, tree);
    const asKafka = (c: (typeof tree.captured)[number]): KafkaRecord => ({
      topic: HUB,
      partition: c.partition,
      offset: String(c.sequenceNumber),
      timestampMs: c.timestampMs,
      key: c.record.key === null ? null : Buffer.from(c.record.key),
      value: c.record.value,
    });
    // The ingestor (group "live") started after Kafka's retention had dropped the first third of each partition,
    // and has read up to two thirds: [third, twoThirds) is in the warehouse, its stored offset is twoThirds.
    const byPartition = [0, 1].map((p) => tree.captured.filter((c) => c.partition === p));
    const client = await db.pool.connect();
    try {
      for (const list of byPartition) {
        const third = Math.floor(list.length / 3);
        await writeBatch(client, { pipeline: "live", records: list.slice(third, 2 * third).map(asKafka) });
      }
    } finally {
      client.release();
    }
    const { from, to } = range(tree);
    const result = await adpipe(db, [
      "--from",
      from,
      "--to",
      to,
      "--source",
      dir,
      "--topic",
      HUB,
      "--pipeline",
      "live",
    ]);
    expect(result.code).toBe(0);
    const expectedLeft = byPartition.reduce(
      (n, list) => n + list.length - 2 * Math.floor(list.length / 3),
      0,
    );
    const expectedWritten = byPartition.reduce((n, list) => n + Math.floor(list.length / 3), 0);
    expect(result.out).toContain(
      `${expectedWritten} written, ${expectedWritten} already in Bronze, ${expectedLeft} left to the live ingestor`,
    );
    expect(result.out).toMatch(/run this again once the ingestor has moved past them/);
    // The ingestor goes on from its stored offset: nothing collides with the replay, and the whole is exact.
    const resume = await db.pool.connect();
    try {
      for (const list of byPartition) {
        const batch = await writeBatch(resume, {
          pipeline: "live",
          records: list.slice(2 * Math.floor(list.length / 3)).map(asKafka),
        });
        expect(batch.replayed).toBe(0);
      }
    } finally {
      resume.release();
    }
    await expectMatchesOracle(db, oracleOf(tree));
  });

  it("refuses partitions the live ingestor has not consumed, and ranges retention has dropped", async () => {
    const db = await database();
    const dir = await tempDir();
    const tree = await captureTree(stream(33, 200, { startMs: Date.now() - 10 * 86_400_000 }), {
      hub: HUB,
      partitions: 2,
    });
    writeCaptureTree(dir, tree);
    const { from, to } = range(tree);
    const dry = await adpipe(db, ["--from", from, "--to", to, "--source", dir, "--topic", HUB, "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/^dry run: 200 events in range \(of 200\) in \d+ files/);
    const unowned = await adpipe(db, ["--from", from, "--to", to, "--source", dir, "--topic", HUB]);
    expect(unowned.code).toBe(2);
    expect(unowned.err).toMatch(
      /the live pipeline adpipe-ingestor has no stored offset for ad-clicks partition 0: .* Start the ingestor .* --standalone/,
    );
    const retention = await adpipe(db, ["--from", from, "--to", to, "--source", dir, "--standalone"], {
      WAREHOUSE_RETENTION_DAYS: "3",
    });
    expect(retention.code).toBe(2);
    expect(retention.err).toMatch(
      /retention \(WAREHOUSE_RETENTION_DAYS=3\) dropped Bronze and Silver .* count them twice/,
    );
    expect(await readGold(db.pool)).toEqual([]);
  });

  it("stops at a damaged file with its name; after the fix a second run completes exactly", async () => {
    const db = await database();
    const dir = await tempDir();
    const tree = await captureTree(stream(34, 2_000), { hub: HUB, partitions: 2 });
    writeCaptureTree(dir, tree);
    const [damaged] = [...tree.files.keys()].filter((path) => path.includes("/1/")).slice(3, 4);
    const good = tree.files.get(damaged ?? "") ?? Buffer.alloc(0);
    await writeFile(join(dir, damaged ?? ""), good.subarray(0, good.length - 25));
    const { from, to } = range(tree);
    const args = [
      "--from",
      from,
      "--to",
      to,
      "--source",
      dir,
      "--topic",
      HUB,
      "--standalone",
      "--batch-size",
      "100",
    ];
    const broken = await adpipe(db, args);
    expect(broken.code).toBe(1);
    expect(broken.err).toContain(`${damaged}: truncated:`);
    expect(broken.err).toMatch(/fix or move the file and run again/);

    await writeFile(join(dir, damaged ?? ""), good);
    const fixed = await adpipe(db, args);
    expect(fixed.code).toBe(0);
    expect(fixed.out).toMatch(/[1-9]\d* already in Bronze/);
    await expectMatchesOracle(db, oracleOf(tree));

    await writeFile(join(dir, "adpipe-ns", HUB, "stray.avro"), good);
    const unplaced = await adpipe(db, args);
    expect(unplaced.code).toBe(2);
    expect(unplaced.err).toMatch(
      /1 file\(s\) do not match --path-format .* adpipe-ns\/ad-clicks\/stray\.avro/,
    );
  });

  it("replays the committed fixture (EnqueuedTimeUtc only, as Capture writes it) into the oracle's result", async () => {
    // The fixture holds exactly the stream it was made from: a changed generator must regenerate it.
    const records = [...generateStream(CAPTURE_FIXTURE.stream)];
    const tree = await captureTree(records, CAPTURE_FIXTURE.tree);
    const decode = async (bytes: Buffer, path: string) => {
      const events = [];
      for await (const e of readCaptureEvents(Readable.from([bytes]), path)) {
        events.push([e.sequenceNumber, e.enqueuedTimeMs, e.key?.toString("hex"), e.body?.toString("hex")]);
      }
      return events;
    };
    for (const [path, bytes] of tree.files) {
      const committed = await readFile(join(FIXTURE, path)).catch(() => Buffer.alloc(0));
      expect(await decode(committed, path).catch((e: Error) => e.message), `${path}: ${REGENERATE}`).toEqual(
        await decode(bytes, path),
      );
    }
    expect(await countAvro(FIXTURE), REGENERATE).toBe(tree.files.size);
    const db = await database();
    const { from, to } = range(tree);
    const result = await adpipe(db, [
      "--from",
      from,
      "--to",
      to,
      "--source",
      FIXTURE,
      "--topic",
      HUB,
      "--standalone",
    ]);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(new RegExp(`replayed ${records.length} Capture events in range`));
    await expectMatchesOracle(db, oracleOf(tree));
  });

  describe("from Azure Blob Storage with Entra ID (Azurite, https, --oauth basic)", () => {
    let azurite: Azurite;
    let idp: TestIdentityProvider;
    beforeAll(async () => {
      [azurite, idp] = await Promise.all([startAzurite({ oauth: true }), TestIdentityProvider.start()]);
    }, 120_000);
    afterAll(async () => {
      await azurite?.stop();
      await idp?.stop();
    });

    it("lists and streams the blobs with bearer tokens and replays them exactly", async () => {
      const db = await database();
      const tree = await captureTree(stream(35, 1_500), { hub: HUB, partitions: 2 });
      const { BlobServiceClient } = await import("@azure/storage-blob");
      const service = new BlobServiceClient(azurite.blobEndpoint, idp.credential(), {
        tlsOptions: { ca: azurite.caPem },
      } as never);
      const container = service.getContainerClient("capture");
      await container.createIfNotExists();
      for (const [path, bytes] of tree.files) {
        await container.getBlockBlobClient(`eventhubs/${path}`).uploadData(bytes);
      }
      const caFile = join(await tempDir(), "ca.pem");
      await writeFile(caFile, azurite.caPem ?? "");
      const { from, to } = range(tree);
      Object.assign(process.env, { DATABASE_URL: db.url, WAREHOUSE_RETENTION_DAYS: "0" });
      const credential = idp.credential();
      const summary = await replayCapture(
        {
          from: Date.parse(from),
          to: Date.parse(to),
          source: `${azurite.blobEndpoint}/capture/eventhubs`,
          topic: HUB,
          standalone: true,
        },
        {
          env: { ...process.env, AZURE_AUTH: "azure-cli", AZURE_STORAGE_CA_FILE: caFile },
          credential,
          stderr: process.stderr,
        },
      );
      expect(summary).toMatchObject({
        files: tree.files.size,
        inRange: 1_500,
        written: 1_500,
        alreadyPresent: 0,
      });
      expect(credential.requests).toBeGreaterThanOrEqual(1);
      await expectMatchesOracle(db, oracleOf(tree));
    });
  });
});
