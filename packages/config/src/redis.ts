import { z } from "zod";
import { type Env, loadEnv } from "./env.js";
import { ConfigError } from "./errors.js";
import { REDACTED } from "./redact.js";

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

const STANDALONE_PROTOCOLS = ["redis:", "rediss:"];
const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#@]+)\/?$/i;
const NODE = /^(\[[0-9a-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/i;

export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

/**
 * Where the Redis of the real-time path is: one server (REDIS_URL, redis:// or rediss://) or a Redis Cluster
 * (REDIS_CLUSTER_NODES, or a `redis+cluster://` / `rediss+cluster://` REDIS_URL listing one or more seed nodes;
 * the client discovers the rest from them).
 */
export type RedisConnection =
  | { readonly mode: "standalone"; readonly url: string }
  | {
      readonly mode: "cluster";
      readonly nodes: readonly RedisNode[];
      readonly username?: string;
      readonly password?: string;
      readonly tls: boolean;
    };

function parseNode(text: string): RedisNode | null {
  const match = NODE.exec(text.trim());
  if (match === null) return null;
  const port = Number(match[2]);
  if (port < 1 || port > 65_535) return null;
  const host = (match[1] ?? "").replace(/^\[(.*)\]$/, "$1");
  return { host, port };
}

function parseNodes(list: string): RedisNode[] | null {
  const nodes = list.split(",").map(parseNode);
  return nodes.length > 0 && nodes.every((node) => node !== null) ? (nodes as RedisNode[]) : null;
}

function decode(text: string | undefined): string | undefined {
  if (text === undefined || text === "") return undefined;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function parseClusterUrl(url: string): Extract<RedisConnection, { mode: "cluster" }> | null {
  const match = CLUSTER_URL.exec(url);
  if (match === null) return null;
  const nodes = parseNodes(match[4] ?? "");
  if (nodes === null) return null;
  const username = decode(match[2]);
  const password = decode(match[3]);
  return {
    mode: "cluster",
    nodes,
    tls: (match[1] ?? "").toLowerCase() === "rediss",
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
  };
}

function isStandaloneUrl(url: string): boolean {
  try {
    return STANDALONE_PROTOCOLS.includes(new URL(url).protocol);
  } catch {
    return false;
  }
}

/**
 * REDIS_URL: redis:// or rediss:// (one server, default redis://127.0.0.1:6379), or redis+cluster:// and
 * rediss+cluster:// with comma-separated seed nodes (`redis+cluster://user:pass@10.0.0.1:7000,10.0.0.2:7000`).
 * REDIS_CLUSTER_NODES: comma-separated host:port seed nodes of a Redis Cluster without authentication or TLS.
 */
export const redisEnvSchema = z.object({
  REDIS_URL: z
    .string()
    .refine((url) => isStandaloneUrl(url) || parseClusterUrl(url) !== null, {
      message:
        "expected redis://host:port, rediss://host:port, or redis+cluster://host:port[,host:port...] (rediss+cluster:// for TLS)",
    })
    .default(DEFAULT_REDIS_URL),
  REDIS_CLUSTER_NODES: z
    .string()
    .refine((list) => parseNodes(list) !== null, {
      message:
        "expected comma-separated host:port seed nodes of a Redis Cluster (e.g. 127.0.0.1:7000,127.0.0.1:7001)",
    })
    .optional(),
});
export type RedisEnv = z.output<typeof redisEnvSchema>;

/**
 * The connection the environment asks for. REDIS_CLUSTER_NODES and a REDIS_URL other than the default are two
 * answers to one question: both set is refused rather than one silently winning.
 */
export function redisConnection(env: RedisEnv): RedisConnection {
  if (env.REDIS_CLUSTER_NODES !== undefined) {
    if (env.REDIS_URL !== DEFAULT_REDIS_URL) {
      throw new ConfigError("conflicting_env", [
        {
          variable: "REDIS_CLUSTER_NODES",
          message:
            "set either REDIS_CLUSTER_NODES or REDIS_URL, not both (a cluster with credentials or TLS: REDIS_URL=redis+cluster://user:pass@host:port,...)",
        },
      ]);
    }
    return { mode: "cluster", nodes: parseNodes(env.REDIS_CLUSTER_NODES) ?? [], tls: false };
  }
  return parseClusterUrl(env.REDIS_URL) ?? { mode: "standalone", url: env.REDIS_URL };
}

export function redisConnectionFromEnv(env: Env = process.env): RedisConnection {
  return redisConnection(loadEnv(redisEnvSchema, env));
}

/** For logs and error messages: the address without the password. */
export function describeRedisConnection(connection: RedisConnection): string {
  if (connection.mode === "standalone") {
    try {
      const url = new URL(connection.url);
      if (url.password !== "") url.password = REDACTED;
      return url.toString().replaceAll(encodeURIComponent(REDACTED), REDACTED);
    } catch {
      return "(invalid REDIS_URL)";
    }
  }
  const scheme = connection.tls ? "rediss+cluster" : "redis+cluster";
  const user =
    connection.username === undefined && connection.password === undefined
      ? ""
      : `${connection.username ?? ""}${connection.password === undefined ? "" : `:${REDACTED}`}@`;
  const nodes = connection.nodes.map(
    ({ host, port }) => `${host.includes(":") ? `[${host}]` : host}:${port}`,
  );
  return `${scheme}://${user}${nodes.join(",")}`;
}

/** The secrets of a connection, for redact() of free text. */
export function redisConnectionSecrets(connection: RedisConnection): string[] {
  if (connection.mode === "cluster") return connection.password === undefined ? [] : [connection.password];
  try {
    const password = new URL(connection.url).password;
    return password === "" ? [] : [password, decodeURIComponent(password)];
  } catch {
    return [];
  }
}
