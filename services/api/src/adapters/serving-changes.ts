import {
  parseServingChangeMessage,
  type ServingChangeMessage,
  servingChangesChannel,
} from "@adpipe/serving-client";
import type { Cluster, Redis } from "ioredis";

export type ServingChangeListener = (message: ServingChangeMessage) => void;

export interface ServingChangeFeed {
  /** Starts receiving changes (the shared subscription opens with the first listener); returns unsubscribe. */
  subscribe(listener: ServingChangeListener): Promise<() => void>;
  readonly listeners: number;
  close(): Promise<void>;
}

/**
 * One Redis subscription to `<prefix>serving-changes` per API process, fanned out to every open
 * stream, so a thousand dashboards cost Redis one subscriber. Pub/sub is at-most-once: a stream that
 * missed messages still gets the full state from the lookups it polls.
 */
export function createServingChangeFeed(redis: Redis | Cluster, prefix: string): ServingChangeFeed {
  const channel = servingChangesChannel(prefix);
  const listeners = new Set<ServingChangeListener>();
  let subscriber: Redis | Cluster | null = null;
  let ready: Promise<unknown> | null = null;

  const open = (): Promise<unknown> => {
    if (ready !== null) return ready;
    const connection = redis.duplicate();
    connection.on("error", () => undefined);
    connection.on("message", (from: string, text: string) => {
      if (from !== channel) return;
      const message = parseServingChangeMessage(text);
      if (message === null) return;
      for (const listener of listeners) listener(message);
    });
    subscriber = connection;
    ready = connection.subscribe(channel).catch((error: unknown) => {
      subscriber = null;
      ready = null;
      connection.disconnect();
      throw error;
    });
    return ready;
  };

  return {
    async subscribe(listener) {
      await open();
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    get listeners() {
      return listeners.size;
    },
    async close() {
      listeners.clear();
      subscriber?.disconnect();
      subscriber = null;
      ready = null;
    },
  };
}
