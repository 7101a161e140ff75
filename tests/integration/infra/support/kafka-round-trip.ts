/**
 * A short produce → consume through @adpipe/kafka, run as its own process by the runtime tests (on another
 * Node than the test runner's): KAFKA_BROKERS, KAFKA_TOPIC (an existing topic) and ROUND_TRIP_COUNT from the
 * environment; prints one JSON line { node, consumed } and exits 0 when every record came back.
 */
import { kafkaConnectionFromEnv } from "@adpipe/config";
import { createKafka } from "@adpipe/kafka";

const topic = process.env.KAFKA_TOPIC ?? "";
const count = Number(process.env.ROUND_TRIP_COUNT ?? "20");
if (topic === "" || !Number.isSafeInteger(count) || count <= 0) {
  throw new Error("KAFKA_TOPIC and a positive ROUND_TRIP_COUNT are required");
}

const kafka = createKafka(kafkaConnectionFromEnv(process.env, { clientId: `round-trip-${process.pid}` }));
const producer = kafka.producer();
await producer.connect();
await producer.send({
  topic,
  messages: Array.from({ length: count }, (_, index) => ({ key: `k${index % 3}`, value: String(index) })),
});

const consumer = kafka.consumer({ groupId: `${topic}-round-trip` });
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
let consumed = 0;
await new Promise<void>((resolve, reject) => {
  consumer
    .run({
      eachMessage: async () => {
        consumed += 1;
        if (consumed >= count) resolve();
      },
    })
    .catch(reject);
});
// Idle a moment with every connection open: a queue that polls while idle does it now.
await new Promise((resolve) => setTimeout(resolve, 500));
await consumer.disconnect();
await producer.disconnect();
console.log(JSON.stringify({ node: process.version, consumed }));
