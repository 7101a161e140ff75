/** Where each service of the integration tests came from. */
export type ServiceSource = "env" | "local" | "testcontainers";

/** What tests/support/global-setup.ts hands to every integration test file (vitest provide/inject). */
export interface TestServices {
  kafkaBrokers: string[];
  kafkaSource: ServiceSource;
  databaseUrl: string;
  redisUrl: string;
  /** The local broker's Event Hubs emulation (scripts/kafka.sh), or null when Kafka is not that broker. */
  eventHubs: { connectionString: string; caFile: string } | null;
}

declare module "vitest" {
  export interface ProvidedContext {
    testServices: TestServices;
  }
}
