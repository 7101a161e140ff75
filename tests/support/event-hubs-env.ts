import { readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { EVENT_HUBS_ENV_FILE } from "./paths.js";

export interface EventHubsEnv {
  EVENT_HUB_CONNECTION_STRING: string;
  KAFKA_SSL_CA_FILE: string;
}

/**
 * Reads the local Event Hubs emulation's connection string and CA file, as written by `scripts/kafka.sh start`
 * (default .cache/kafka/eventhubs.env, or EVENT_HUBS_ENV_FILE). Returns null when the file does not exist.
 */
export function readEventHubsEnv(file: string = EVENT_HUBS_ENV_FILE): EventHubsEnv | null {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "ENOENT") return null;
    throw error;
  }
  const values = parseEnv(text);
  const connectionString = values.EVENT_HUB_CONNECTION_STRING;
  const caFile = values.KAFKA_SSL_CA_FILE;
  if (!connectionString || !caFile) {
    throw new Error(
      `${file} lacks EVENT_HUB_CONNECTION_STRING or KAFKA_SSL_CA_FILE; run: bash scripts/kafka.sh start`,
    );
  }
  return { EVENT_HUB_CONNECTION_STRING: connectionString, KAFKA_SSL_CA_FILE: caFile };
}
