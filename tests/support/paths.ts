import { fileURLToPath } from "node:url";

/** The repository root (tests/support is two levels below it). */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Written by scripts/kafka.sh start: EVENT_HUB_CONNECTION_STRING and KAFKA_SSL_CA_FILE for the SASL_SSL listener. */
export const EVENT_HUBS_ENV_FILE =
  process.env.EVENT_HUBS_ENV_FILE ??
  fileURLToPath(new URL("../../.cache/kafka/eventhubs.env", import.meta.url));
