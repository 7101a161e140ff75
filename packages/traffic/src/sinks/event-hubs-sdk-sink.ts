import {
  type AzureAuth,
  createAzureCredential,
  parseEventHubsConnectionString,
  parseEventHubsNamespace,
  redact,
} from "@adpipe/config";
import type { GeneratedRecord } from "@adpipe/core";
import type { TokenCredential } from "@azure/core-auth";
import { type EventData, type EventDataBatch, EventHubProducerClient } from "@azure/event-hubs";
import { SimulatorError } from "../errors.js";
import type { RecordSink } from "./sink.js";

/**
 * How the AMQP sink reaches the event hub: a connection string (a key), or the namespace with an Entra ID
 * credential — the AzureAuth of EVENT_HUB_NAMESPACE/AZURE_AUTH, or a TokenCredential given directly.
 */
export type EventHubsSdkTarget =
  | string
  | {
      readonly namespace: string;
      readonly auth?: AzureAuth;
      readonly credential?: TokenCredential;
    };

/**
 * Sends through the Event Hubs SDK over AMQP, as the seed's web app does. Records keep their bytes (the body
 * is a Buffer, delivered unchanged to Kafka consumers) and their key as the partition key, so one advertiser
 * stays on one partition. AMQP cannot set the Kafka record timestamp: Kafka consumers see Event Hubs'
 * enqueued time, so an oracle for an SDK run must take the timestamps from the consumed records.
 */
export class EventHubsSdkSink implements RecordSink {
  readonly description: string;
  readonly topic: string;
  // ES private fields: a sink that is logged or serialized shows neither the connection string nor a secret.
  #client: EventHubProducerClient | undefined;
  readonly #secrets: string[];
  readonly #target: EventHubsSdkTarget;

  constructor(target: EventHubsSdkTarget, eventHubName: string) {
    this.#target = target;
    this.topic = eventHubName;
    if (typeof target === "string") {
      const parsed = parseEventHubsConnectionString(target);
      this.description = `Event Hubs SDK (AMQP) ${parsed.host}, event hub ${eventHubName}`;
      this.#secrets = [target];
    } else {
      if (target.auth === undefined && target.credential === undefined) {
        throw new SimulatorError("invalid_options", "an Entra ID target needs an AzureAuth or a credential");
      }
      const host = parseEventHubsNamespace(target.namespace).host;
      const how = target.auth === undefined ? "a given credential" : `AZURE_AUTH=${target.auth.mode}`;
      this.description = `Event Hubs SDK (AMQP) ${host} with Entra ID (${how}), event hub ${eventHubName}`;
      this.#secrets = target.auth?.clientSecret === undefined ? [] : [target.auth.clientSecret];
    }
  }

  private async createClient(): Promise<EventHubProducerClient> {
    const target = this.#target;
    if (typeof target === "string") return new EventHubProducerClient(target, this.topic);
    const credential = target.credential ?? (await createAzureCredential(target.auth as AzureAuth));
    // AMQP goes to the namespace host itself (port 5671), not the Kafka endpoint's 9093.
    return new EventHubProducerClient(parseEventHubsNamespace(target.namespace).host, this.topic, credential);
  }

  async connect(): Promise<void> {
    let client: EventHubProducerClient;
    try {
      client = await this.createClient();
    } catch (error) {
      throw new SimulatorError(
        "sink_unavailable",
        `cannot create the client for ${this.description}: ${this.safeMessage(error)}`,
        { cause: error },
      );
    }
    try {
      await client.getEventHubProperties();
    } catch (error) {
      await client.close().catch(() => undefined);
      throw new SimulatorError(
        "sink_unavailable",
        `cannot reach ${this.description}: ${this.safeMessage(error)}`,
        { cause: error },
      );
    }
    this.#client = client;
  }

  async send(records: readonly GeneratedRecord[]): Promise<void> {
    const client = this.#client;
    if (client === undefined) throw new SimulatorError("sink_unavailable", "send() before connect()");
    // One batch per partition key, in first-seen order; each key's records keep their order.
    const byKey = new Map<string | null, GeneratedRecord[]>();
    for (const record of records) {
      const group = byKey.get(record.key);
      if (group === undefined) byKey.set(record.key, [record]);
      else group.push(record);
    }
    try {
      for (const [key, group] of byKey) {
        const options = key === null ? {} : { partitionKey: key };
        let batch: EventDataBatch = await client.createBatch(options);
        for (const record of group) {
          const event: EventData = {
            body: Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength),
            contentType: "application/json",
          };
          if (batch.tryAdd(event)) continue;
          if (batch.count === 0)
            throw new SimulatorError(
              "send_failed",
              `a ${record.value.byteLength}-byte event exceeds the event hub's limit`,
            );
          await client.sendBatch(batch);
          batch = await client.createBatch(options);
          if (!batch.tryAdd(event))
            throw new SimulatorError(
              "send_failed",
              `a ${record.value.byteLength}-byte event exceeds the event hub's limit`,
            );
        }
        if (batch.count > 0) await client.sendBatch(batch);
      }
    } catch (error) {
      if (error instanceof SimulatorError) throw error;
      throw new SimulatorError(
        "send_failed",
        `sending to ${this.description} failed: ${this.safeMessage(error)}`,
        { cause: error },
      );
    }
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.close();
  }

  private safeMessage(error: unknown): string {
    return redact(error instanceof Error ? error.message : String(error), this.#secrets);
  }
}
