import { setTimeout as sleep } from "node:timers/promises";
/**
 * SASL OAUTHBEARER end to end against a real broker: a private Kafka 3.9 broker (scripts/kafka-oauth.sh) validates
 * every token with Kafka's own OAuthBearerValidatorCallbackHandler against the JWKS of a test identity provider
 * (tests/support/test-idp.ts). The client side is production code: EVENT_HUB_NAMESPACE + AZURE_AUTH through
 * @adpipe/config, createKafka() and its token provider; only the TokenCredential is the test IdP's instead of the
 * @azure/identity one AZURE_AUTH names.
 */
import { type KafkaConnection, kafkaConnectionFromEnv } from "@adpipe/config";
import {
  ConsumerRunner,
  type CreateKafkaOptions,
  createKafka,
  isAuthenticationError,
  KafkaError,
  kafkaClientConfig,
  withAdmin,
} from "@adpipe/kafka";
import type { Logger } from "@adpipe/telemetry";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { uniqueName } from "../../support/index.js";
import { type OAuthKafka, startOAuthKafka } from "../../support/oauth-kafka.js";
import { TestIdentityProvider } from "../../support/test-idp.js";

/** Every log line of every client in this file, to check no token reached a log. */
const logLines: string[] = [];
const capture: Logger = {
  error: (object, message) => logLines.push(JSON.stringify({ level: "error", ...object, msg: message })),
  warn: (object, message) => logLines.push(JSON.stringify({ level: "warn", ...object, msg: message })),
  info: (object, message) => logLines.push(JSON.stringify({ level: "info", ...object, msg: message })),
  debug: (object, message) => logLines.push(JSON.stringify({ level: "debug", ...object, msg: message })),
};

let idp: TestIdentityProvider;
let broker: OAuthKafka;
let connection: KafkaConnection;
const TOPIC = uniqueName("oauth");

function client(options: CreateKafkaOptions) {
  return createKafka(connection, { logger: capture, logLevel: logLevel.DEBUG, ...options });
}

async function refusal(options: CreateKafkaOptions): Promise<KafkaError> {
  const kafka = client({ ...options, retry: { retries: 0 } });
  const error = await withAdmin(kafka, (admin) => admin.listTopics()).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KafkaError);
  return error as KafkaError;
}

beforeAll(async () => {
  idp = await TestIdentityProvider.start();
  // JWKS re-read every 5 s so a rotation is picked up within the test.
  broker = await startOAuthKafka(idp, { jwksRefreshMs: 5_000 });
  // The production configuration path: namespace + AZURE_AUTH (the credential is injected per client below).
  connection = kafkaConnectionFromEnv(
    {
      EVENT_HUB_NAMESPACE: broker.namespace,
      EVENT_HUB_NAME: TOPIC,
      AZURE_AUTH: "azure-cli",
      KAFKA_SSL_CA_FILE: broker.caFile,
    },
    { clientId: "oauth-test" },
  );
  const plain = createKafka(kafkaConnectionFromEnv({ KAFKA_BROKERS: broker.plaintextBrokers.join(",") }));
  await withAdmin(plain, (admin) =>
    admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }], waitForLeaders: true }),
  );
}, 300_000);

afterAll(async () => {
  await broker?.stop();
  await idp?.stop();
});

describe("Event Hubs with Entra ID, emulated: SASL OAUTHBEARER validated by Kafka against a JWKS", () => {
  test("connects with a token for https://<namespace>/.default, produces and consumes", async () => {
    expect(connection.oauth?.scope).toBe(`${broker.audience}/.default`);
    const credential = idp.credential();
    const kafka = client({ credential });
    const producer = kafka.producer();
    await producer.connect();
    const values = Array.from({ length: 50 }, (_, i) => `first-${i}`);
    await producer.send({ topic: TOPIC, messages: values.map((value) => ({ key: "k", value })) });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: uniqueName("oauth-read") });
    const received: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        received.push(message.value?.toString() ?? "");
      },
    });
    const deadline = Date.now() + 60_000;
    while (received.length < values.length && Date.now() < deadline) await sleep(200);
    await consumer.disconnect();
    expect(received).toEqual(values);
    // One token served every connection of this client (producer, consumer, coordinator).
    expect(credential.requests).toBe(1);
  });

  test("refreshes short-lived (20 s) tokens during a long consume, across two key rotations", async () => {
    const lifetimeMs = 20_000;
    const consumerCredential = idp.credential({ lifetimeMs });
    const refreshes: number[] = [];
    const consumerKafka = client({
      credential: consumerCredential,
      onTokenRefresh: ({ expiresOnMs }) => refreshes.push(expiresOnMs),
    });
    const producerKafka = client({ credential: idp.credential({ lifetimeMs }) });
    const producer = producerKafka.producer();
    const consumer = consumerKafka.consumer({ groupId: uniqueName("oauth-long") });
    const received: { value: string; at: number }[] = [];
    let crashed: unknown = null;
    consumer.on(consumer.events.CRASH, (event) => {
      crashed = event.payload.error;
    });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const value = message.value?.toString() ?? "";
        if (value.startsWith("long-")) received.push({ value, at: Date.now() });
      },
    });
    await producer.connect();
    const kidsUsed = new Set<string>();
    const started = Date.now();
    const durationMs = 65_000;
    let sent = 0;
    try {
      while (Date.now() - started < durationMs) {
        await producer.send({ topic: TOPIC, messages: [{ key: String(sent % 2), value: `long-${sent}` }] });
        sent += 1;
        kidsUsed.add(idp.currentKid);
        // Rotate the signing key twice while connections are up: re-authentication must pick the new key up.
        if (sent === 20 || sent === 42) idp.rotate();
        await sleep(1_000);
      }
      const deadline = Date.now() + 30_000;
      while (received.length < sent && Date.now() < deadline) await sleep(200);
    } finally {
      await producer.disconnect();
      await consumer.disconnect();
    }
    expect(crashed).toBeNull();
    expect(received.map((r) => r.value).sort()).toEqual(
      Array.from({ length: sent }, (_, i) => `long-${i}`).sort(),
    );
    // 65 s of 20 s tokens refreshed at half their lifetime: at least 5 tokens for the consumer.
    expect(consumerCredential.requests).toBeGreaterThanOrEqual(5);
    expect(refreshes.length).toBe(consumerCredential.requests);
    expect(kidsUsed.size).toBe(3);
    // Consumption never stalled for a token lifetime (a cut-off session would show as a gap).
    const gaps = received.slice(1).map((r, i) => r.at - (received[i]?.at ?? r.at));
    expect(Math.max(...gaps)).toBeLessThan(lifetimeMs);
  }, 180_000);

  test("the broker enforces expiry: a client that never refreshes is cut off when its token expires", async () => {
    // A credential that hands out the same 15 s token forever while claiming it lives an hour; kafkajs set to
    // re-authenticate only once the session the broker granted (the token's lifetime) is over.
    const fixed = idp.issue(`${broker.audience}/.default`, { lifetimeMs: 15_000 });
    const stale = {
      getToken: async () => ({ token: fixed.token, expiresOnTimestamp: Date.now() + 3_600_000 }),
    };
    const kafka = new Kafka({
      ...kafkaClientConfig(connection, {
        credential: stale,
        logger: capture,
        logLevel: logLevel.DEBUG,
        retry: { retries: 1, initialRetryTime: 100 },
      }),
      reauthenticationThreshold: 0,
    });
    const consumer = kafka.consumer({ groupId: uniqueName("oauth-stale") });
    // kafkajs restarts a consumer after a retriable crash (a connection the broker closed at expiry): keep them all.
    const crashes: { error: Error; at: number }[] = [];
    consumer.on(consumer.events.CRASH, (event) => {
      crashes.push({ error: event.payload.error, at: Date.now() });
    });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: false });
    await consumer.run({ eachMessage: async () => undefined });
    const deadline = Date.now() + 60_000;
    while (!crashes.some((c) => isAuthenticationError(c.error)) && Date.now() < deadline) await sleep(500);
    await consumer.disconnect().catch(() => undefined);
    const refused = crashes.find((c) => isAuthenticationError(c.error));
    expect(refused, crashes.map((c) => c.error.message).join("; ")).toBeDefined();
    expect(refused?.error.message).toMatch(/refused the OAuth token .* it EXPIRED at/);
    // Nothing went wrong while the token was valid.
    expect(Math.min(...crashes.map((c) => c.at))).toBeGreaterThanOrEqual(fixed.expiresOnMs - 2_000);
  }, 120_000);

  test.each([
    [
      "a wrong audience",
      { audience: "https://other-ns.servicebus.windows.net" },
      /audience .*other-ns.* is not the namespace's/,
    ],
    ["an expired token", { expiredClaim: true }, /it EXPIRED at/],
    [
      "a key the JWKS does not publish",
      { unknownKey: true },
      /matches the namespace; .*does not trust its issuer or signing key/,
    ],
  ] as const)("refuses %s with a clear, non-retried authentication error", async (_name, options, reason) => {
    const error = await refusal({ credential: idp.credential(options) });
    expect(error.code).toBe("ADP_KAFKA_AUTHENTICATION_FAILED");
    expect(isAuthenticationError(error)).toBe(true);
    expect(error.message).toContain(`refused the OAuth token for ${broker.audience}/.default`);
    expect(error.message).toMatch(reason);
  });

  test("a consumer service gets the same error from ConsumerRunner.start()", async () => {
    const kafka = client({
      credential: idp.credential({ audience: "https://wrong" }),
      retry: { retries: 0 },
    });
    const runner = new ConsumerRunner({
      kafka,
      groupId: uniqueName("oauth-runner"),
      topics: [TOPIC],
      logger: capture,
      eachBatch: async () => undefined,
    });
    const error = await runner.start().then(
      () => null,
      (e: unknown) => e,
    );
    await runner.stop().catch(() => undefined);
    expect(error).toBeInstanceOf(KafkaError);
    expect((error as KafkaError).code).toBe("ADP_KAFKA_AUTHENTICATION_FAILED");
    expect((error as KafkaError).message).toMatch(/refused the OAuth token/);
  });

  test("no token and no signature reached a log line or an error (checked over every client above)", () => {
    expect(idp.issued.length).toBeGreaterThan(10);
    expect(logLines.length).toBeGreaterThan(100);
    const text = logLines.join("\n");
    expect(text).toContain("refused the OAuth token");
    for (const { token } of idp.issued) {
      const [, payload, signature] = token.split(".");
      expect(text).not.toContain(token);
      expect(text).not.toContain(payload);
      expect(text).not.toContain(signature);
    }
  });
});
