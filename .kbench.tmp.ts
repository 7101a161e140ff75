import { generateStream } from "@adpipe/core";
import { kafkaConnectionFromEnv } from "@adpipe/config";
import { createKafka, ensureTopic, deleteTopic } from "@adpipe/kafka";
import { CompressionTypes } from "kafkajs";
const n = 300_000;
const recs = [...generateStream({ seed: 1, events: n, advertisers: 200, intervalMs: 0.01 })];
const msgs = recs.map((r) => ({ key: r.key, value: Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength), timestamp: String(Math.floor(r.timestampMs)) }));
const topic = `simbench-${Date.now()}`;
const kafka = createKafka(kafkaConnectionFromEnv({ KAFKA_BROKERS: "127.0.0.1:9092" }));
await ensureTopic(kafka, { topic, partitions: 8 });
const producer = kafka.producer();
await producer.connect();
function chunks(maxBytes: number) { const out = []; let cur = []; let b = 0; for (const m of msgs) { const s = m.value.length + 40; if (b + s > maxBytes && cur.length) { out.push(cur); cur = []; b = 0; } cur.push(m); b += s; } if (cur.length) out.push(cur); return out; }
const cs = chunks(900_000);
const t0 = performance.now();
const inflight = new Set<Promise<unknown>>();
for (const chunk of cs) {
  const p = producer.send({ topic, messages: chunk, acks: 1, compression: CompressionTypes.None }).then(() => inflight.delete(p));
  inflight.add(p);
  if (inflight.size >= 4) await Promise.race(inflight);
}
await Promise.all(inflight);
console.log(`${(n / (performance.now() - t0) * 1000).toFixed(0)} msgs/s`);
await producer.disconnect();
await deleteTopic(kafka, topic);
