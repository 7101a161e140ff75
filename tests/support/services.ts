import { inject } from "vitest";
import type { TestServices } from "./provided.js";

export type { ServiceSource, TestServices } from "./provided.js";

/** The services global-setup checked (or started): call inside a test file of the integration project. */
export function testServices(): TestServices {
  const services = inject("testServices");
  if (services === undefined) {
    throw new Error(
      "testServices is not provided: run integration tests with `vitest run --project integration`",
    );
  }
  return services;
}

/**
 * The local broker's Event Hubs emulation (SASL_SSL on 127.0.0.1:9093), for tests that need it. Fails with what
 * to run when it is not there: a test that needs it never skips.
 */
export function eventHubsEmulation(): { EVENT_HUB_CONNECTION_STRING: string; KAFKA_SSL_CA_FILE: string } {
  const { eventHubs, kafkaSource } = testServices();
  if (eventHubs === null) {
    throw new Error(
      kafkaSource === "testcontainers"
        ? "the Event Hubs emulation needs the local broker: bash scripts/kafka.sh start (not a container)"
        : "the SASL_SSL listener on 127.0.0.1:9093 did not accept .cache/kafka/eventhubs.env; restart it: bash scripts/kafka.sh stop && bash scripts/kafka.sh start",
    );
  }
  return { EVENT_HUB_CONNECTION_STRING: eventHubs.connectionString, KAFKA_SSL_CA_FILE: eventHubs.caFile };
}
