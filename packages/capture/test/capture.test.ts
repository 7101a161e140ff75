import { Readable } from "node:stream";
import avro from "avsc";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CaptureError,
  captureFilePath,
  capturePathMatcher,
  captureRecord,
  DEFAULT_CAPTURE_PATH_FORMAT,
  encodeCaptureFile,
  formatEnqueuedTimeUtc,
  parseBlobUrl,
  parseEnqueuedTimeUtc,
  planCaptureReplay,
  readCaptureEvents,
} from "../src/index.js";

async function decodeAll(bytes: Buffer, file = "f.avro") {
  const out = [];
  for await (const event of readCaptureEvents(Readable.from([bytes]), file)) out.push(event);
  return out;
}

async function failure(bytes: Buffer, file = "bad.avro"): Promise<CaptureError> {
  try {
    await decodeAll(bytes, file);
  } catch (error) {
    if (error instanceof CaptureError) return error;
    throw error;
  }
  throw new Error("expected a CaptureError");
}

describe("Capture Avro files", () => {
  it("round-trips events: sequence numbers, ms enqueued time, Kafka key, partition key, body, properties", async () => {
    const bytes = await encodeCaptureFile([
      {
        sequenceNumber: 7,
        enqueuedTimeMs: 1_764_000_000_123,
        kafkaKey: "adv-1",
        body: '{"a":1}',
        properties: { p: 1 },
      },
      { sequenceNumber: 8, enqueuedTimeMs: 1_764_000_001_000, partitionKey: "adv-2", body: null },
      {
        sequenceNumber: 9,
        enqueuedTimeMs: 1_764_000_002_999,
        enqueuedTimeProperty: false,
        body: Buffer.from([0xff]),
      },
    ]);
    const events = await decodeAll(bytes);
    expect(events.map((e) => e.sequenceNumber)).toEqual([7n, 8n, 9n]);
    expect(events.map((e) => e.enqueuedTimeMs)).toEqual([
      1_764_000_000_123, 1_764_000_001_000, 1_764_000_002_000,
    ]);
    expect(events.map((e) => e.key?.toString() ?? null)).toEqual(["adv-1", "adv-2", null]);
    expect(events[0]?.body?.toString()).toBe('{"a":1}');
    expect(events[1]?.body).toBeNull();
    expect(events[2]?.body).toEqual(Buffer.from([0xff]));
    expect(events[0]?.properties).toEqual({ p: 1 });
    expect(captureRecord(events[0]!, "hub", 3)).toMatchObject({ topic: "hub", partition: 3, offset: "7" });
  });

  it("reads uncompressed files and files with no events", async () => {
    expect(await decodeAll(await encodeCaptureFile([], { codec: "null" }))).toEqual([]);
    const events = await decodeAll(
      await encodeCaptureFile([{ sequenceNumber: 0, enqueuedTimeMs: 0, body: "x" }], { codec: "null" }),
    );
    expect(events).toHaveLength(1);
  });

  it("rejects what is not a Capture file, naming the file", async () => {
    expect((await failure(Buffer.from("PAR1 not avro at all"))).message).toMatch(
      /^bad\.avro: cannot be read/,
    );
    const good = await encodeCaptureFile(
      Array.from({ length: 50 }, (_, i) => ({ sequenceNumber: i, enqueuedTimeMs: i, body: "x".repeat(100) })),
      { codec: "null" },
    );
    const truncated = await failure(good.subarray(0, good.length - 40), "hub/0/t.avro");
    expect(truncated.code).toBe("ADP_CAPTURE_BAD_FILE");
    expect(truncated.message).toMatch(
      /^hub\/0\/t\.avro: truncated: \d+ bytes after the last complete block \(0 events read\)/,
    );
    expect((await failure(good.subarray(0, 10))).message).toMatch(/ends before its header/);
    expect((await failure(Buffer.alloc(0))).message).toMatch(/ends before its header/);
    // A valid Avro file of another schema.
    const other = avro.Type.forSchema({ type: "record", name: "X", fields: [{ name: "id", type: "long" }] });
    const chunks: Buffer[] = [];
    const encoder = new avro.streams.BlockEncoder(other);
    encoder.on("data", (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise((resolve) => encoder.on("end", resolve));
    encoder.end({ id: 1 });
    await ended;
    expect((await failure(Buffer.concat(chunks))).message).toMatch(
      /not an Event Hubs Capture file: its Avro schema lacks SequenceNumber, Offset, EnqueuedTimeUtc/,
    );
  });

  it("parses EnqueuedTimeUtc as Capture writes it (.NET invariant, whole seconds) and ISO 8601", () => {
    expect(parseEnqueuedTimeUtc("9/15/2025 6:04:20 PM")).toBe(Date.UTC(2025, 8, 15, 18, 4, 20));
    expect(parseEnqueuedTimeUtc("1/2/2026 12:00:01 AM")).toBe(Date.UTC(2026, 0, 2, 0, 0, 1));
    expect(parseEnqueuedTimeUtc("1/2/2026 12:00:01 PM")).toBe(Date.UTC(2026, 0, 2, 12, 0, 1));
    expect(parseEnqueuedTimeUtc("2026-01-02T03:04:05.678Z")).toBe(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    for (const bad of ["13/45/2025 1:00:00 PM", "yesterday", "", "2/30/2025 1:00:00 AM"]) {
      expect(parseEnqueuedTimeUtc(bad)).toBeNaN();
    }
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), (ms) => {
        expect(parseEnqueuedTimeUtc(formatEnqueuedTimeUtc(ms))).toBe(ms - (ms % 1_000));
      }),
    );
  });

  it("rejects an event whose time cannot be read", async () => {
    const type = avro.Type.forSchema(
      {
        type: "record",
        name: "EventData",
        namespace: "Microsoft.ServiceBus.Messaging",
        fields: [
          { name: "SequenceNumber", type: "long" },
          { name: "Offset", type: "string" },
          { name: "EnqueuedTimeUtc", type: "string" },
          { name: "SystemProperties", type: { type: "map", values: ["long", "double", "string", "bytes"] } },
          {
            name: "Properties",
            type: { type: "map", values: ["long", "double", "string", "bytes", "null"] },
          },
          { name: "Body", type: ["null", "bytes"] },
        ],
      },
      { wrapUnions: true },
    );
    const chunks: Buffer[] = [];
    const encoder = new avro.streams.BlockEncoder(type);
    encoder.on("data", (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise((resolve) => encoder.on("end", resolve));
    encoder.end({
      SequenceNumber: 3,
      Offset: "0",
      EnqueuedTimeUtc: "soon",
      SystemProperties: {},
      Properties: {},
      Body: null,
    });
    await ended;
    expect((await failure(Buffer.concat(chunks), "x.avro")).message).toBe(
      'x.avro: event #1: EnqueuedTimeUtc "soon" is not a time',
    );
  });
});

describe("Capture file paths", () => {
  const matcher = capturePathMatcher();

  it("reads namespace, hub, partition and window start from the default format, under any folder", () => {
    const windowStartMs = Date.UTC(2026, 0, 2, 3, 4, 5);
    const path = captureFilePath({ namespace: "ns", eventHub: "ad-clicks", partition: 12, windowStartMs });
    expect(path).toBe("ns/ad-clicks/12/2026/01/02/03/04/05.avro");
    const expected = { namespace: "ns", eventHub: "ad-clicks", partition: 12, windowStartMs };
    expect(matcher(path)).toEqual(expected);
    expect(matcher(`container/capture/${path}`)).toEqual(expected);
    expect(matcher("ns/ad-clicks/x/2026/01/02/03/04/05.avro")).toBeNull();
    expect(matcher("ns/ad-clicks/12/2026/01/02/03/04/05.json")).toBeNull();
  });

  it("takes custom formats and rejects unusable ones", () => {
    const custom = capturePathMatcher("{EventHub}-p{PartitionId}/{Year}{Month}{Day}");
    expect(custom("clicks-p3/20260102.avro")).toEqual({ eventHub: "clicks", partition: 3 });
    expect(() => capturePathMatcher("{Namespace}/{EventHub}/{Year}")).toThrow(/must contain \{PartitionId\}/);
    expect(() => capturePathMatcher("{PartitionId}/{Week}")).toThrow(/unknown token \{Week\}/);
  });

  it("plans the files of the topic whose window can overlap the range, partition by partition", () => {
    const at = (minute: number) => Date.UTC(2026, 0, 1, 12, minute);
    const file = (hub: string, partition: number, minute: number) => ({
      path: captureFilePath({ namespace: "ns", eventHub: hub, partition, windowStartMs: at(minute) }),
      size: 10,
    });
    const listing = [
      file("ad-clicks", 1, 0),
      file("ad-clicks", 0, 30),
      file("ad-clicks", 0, 50),
      file("other", 0, 30),
    ];
    listing.push(file("ad-clicks", 0, 10), file("ad-clicks", 0, 0));
    const plan = planCaptureReplay(listing, {
      matcher,
      topic: "AD-CLICKS",
      fromMs: at(20),
      toMs: at(50),
      pathFormat: DEFAULT_CAPTURE_PATH_FORMAT,
    });
    // 12:00 ends before 12:20 (windows close within 15 min); 12:50 starts at the range's end.
    expect(
      plan.files.map(
        (f) => `${f.placement.partition}@${new Date(f.placement.windowStartMs!).getUTCMinutes()}`,
      ),
    ).toEqual(["0@10", "0@30"]);
    expect(plan).toMatchObject({ otherHubs: 1, outsideRange: 3, bytes: 20 });
    expect(() =>
      planCaptureReplay([{ path: "random/file.avro", size: 1 }], {
        matcher,
        topic: "t",
        fromMs: 0,
        toMs: 1,
        pathFormat: DEFAULT_CAPTURE_PATH_FORMAT,
      }),
    ).toThrow(/1 file\(s\) do not match --path-format .* e\.g\. random\/file\.avro/);
  });
});

describe("Blob URLs", () => {
  it("finds account, container and folder in Azure and in Azurite (path-style) URLs", () => {
    expect(parseBlobUrl("https://acct.blob.core.windows.net/capture/ns/hub")).toMatchObject({
      account: "acct",
      container: "capture",
      prefix: "ns/hub",
      serviceUrl: "https://acct.blob.core.windows.net",
    });
    expect(parseBlobUrl("https://127.0.0.1:10000/devstoreaccount1/capture")).toMatchObject({
      account: "devstoreaccount1",
      container: "capture",
      prefix: "",
      serviceUrl: "https://127.0.0.1:10000/devstoreaccount1",
    });
    expect(() => parseBlobUrl("https://acct.blob.core.windows.net/?sv=1&sig=SECRET")).toThrow(
      /expected https:\/\/<account>.*/,
    );
    try {
      parseBlobUrl("https://acct.blob.core.windows.net/?sv=1&sig=SECRET");
    } catch (error) {
      expect((error as Error).message).not.toContain("SECRET");
    }
  });
});
