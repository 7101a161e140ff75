import { describe, expect, it } from "vitest";
import { describeRedisConnection, redisConnectionFromEnv, redisConnectionSecrets } from "../src/redis.js";
import { configError } from "./config-error.js";

describe("redisConnectionFromEnv", () => {
  it("defaults to the local standalone server", () => {
    expect(redisConnectionFromEnv({})).toEqual({ mode: "standalone", url: "redis://127.0.0.1:6379" });
  });

  it("keeps a redis:// or rediss:// URL as one server", () => {
    expect(redisConnectionFromEnv({ REDIS_URL: "rediss://u:p@cache:6380/0" })).toEqual({
      mode: "standalone",
      url: "rediss://u:p@cache:6380/0",
    });
  });

  it("REDIS_CLUSTER_NODES: the seed nodes of a cluster", () => {
    expect(
      redisConnectionFromEnv({ REDIS_CLUSTER_NODES: "127.0.0.1:7000, 10.0.0.2:7001,[::1]:7002" }),
    ).toEqual({
      mode: "cluster",
      nodes: [
        { host: "127.0.0.1", port: 7000 },
        { host: "10.0.0.2", port: 7001 },
        { host: "::1", port: 7002 },
      ],
      tls: false,
    });
  });

  it("redis+cluster:// and rediss+cluster:// URLs carry seed nodes, credentials and TLS", () => {
    expect(redisConnectionFromEnv({ REDIS_URL: "rediss+cluster://app:s%40cret@n1:7000,n2:7000/" })).toEqual({
      mode: "cluster",
      nodes: [
        { host: "n1", port: 7000 },
        { host: "n2", port: 7000 },
      ],
      username: "app",
      password: "s@cret",
      tls: true,
    });
    expect(redisConnectionFromEnv({ REDIS_URL: "redis+cluster://n1:7000" })).toMatchObject({ tls: false });
  });

  it("refuses REDIS_CLUSTER_NODES together with a REDIS_URL, naming both", () => {
    const error = configError(() =>
      redisConnectionFromEnv({ REDIS_URL: "redis://other:6379", REDIS_CLUSTER_NODES: "127.0.0.1:7000" }),
    );
    expect(error.code).toBe("ADP_CONFIG_CONFLICTING_ENV");
    expect(error.message).toMatch(/REDIS_CLUSTER_NODES.*REDIS_URL/);
  });

  it.each([
    ["REDIS_CLUSTER_NODES", "zz9host"],
    ["REDIS_CLUSTER_NODES", "zz9host:7000,"],
    ["REDIS_CLUSTER_NODES", "zz9host:99999"],
    ["REDIS_URL", "redis+cluster://zz9:pw@"],
    ["REDIS_URL", "redis+cluster://zz9host"],
    ["REDIS_URL", "http://zz9host:7000"],
  ])("rejects %s=%s and names the variable, not the value", (variable, value) => {
    const error = configError(() => redisConnectionFromEnv({ [variable]: value }));
    expect(error.variable).toBe(variable);
    expect(error.message).not.toContain("zz9");
  });

  it("describes a connection without its password and lists the password as a secret", () => {
    const cluster = redisConnectionFromEnv({ REDIS_URL: "redis+cluster://app:hunter2@n1:7000,n2:7001" });
    expect(describeRedisConnection(cluster)).toBe("redis+cluster://app:[redacted]@n1:7000,n2:7001");
    expect(redisConnectionSecrets(cluster)).toEqual(["hunter2"]);
    const one = redisConnectionFromEnv({ REDIS_URL: "redis://:hunter2@cache:6379" });
    expect(describeRedisConnection(one)).not.toContain("hunter2");
    expect(redisConnectionSecrets(one)).toContain("hunter2");
  });
});
