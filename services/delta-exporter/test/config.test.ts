import { ConfigError } from "@adpipe/config";
import { describe, expect, it } from "vitest";
import { loadDeltaExporterConfig } from "../src/config.js";

describe("delta-exporter configuration", () => {
  it("local lake with defaults", () => {
    const config = loadDeltaExporterConfig({ LAKE_PATH: "/data/lake" });
    expect(config.lake.location).toEqual({ storage: "local", path: "/data/lake" });
    expect(config.lake.tables).toEqual(["bronze", "silver", "gold"]);
    expect(config.lake.batchRows).toBe(50_000);
    expect(config.lake.checkpointInterval).toBe(10);
    expect(config.env.DELTA_EXPORT_MODE).toBe("continuous");
    expect(config.env.OPS_PORT).toBe(9105);
  });

  it("azure: connection string, account key, or a managed identity; secrets are listed for redaction", () => {
    const cs = loadDeltaExporterConfig({
      LAKE_STORAGE: "azure",
      AZURE_STORAGE_CONTAINER: "lake",
      AZURE_STORAGE_CONNECTION_STRING: "AccountName=a;AccountKey=secretkey",
    });
    expect(cs.lake.location).toMatchObject({
      storage: "azure",
      container: "lake",
      prefix: "",
      credentials: { kind: "connection-string" },
    });
    expect(cs.lake.secrets).toEqual(["AccountName=a;AccountKey=secretkey"]);
    const key = loadDeltaExporterConfig({
      LAKE_STORAGE: "azure",
      AZURE_STORAGE_CONTAINER: "lake",
      AZURE_STORAGE_ACCOUNT: "myaccount",
      AZURE_STORAGE_KEY: "k3y",
      LAKE_PATH: "adpipe/prod",
    });
    expect(key.lake.location).toMatchObject({
      prefix: "adpipe/prod",
      credentials: { kind: "account-key", account: "myaccount" },
    });
    const identity = loadDeltaExporterConfig({
      LAKE_STORAGE: "azure",
      AZURE_STORAGE_CONTAINER: "lake",
      AZURE_STORAGE_ACCOUNT: "myaccount",
    });
    expect(identity.lake.location).toMatchObject({
      credentials: { kind: "default-credential", account: "myaccount" },
    });
  });

  it("names the bad variable, never its value", () => {
    const attempt = (env: Record<string, string>) => {
      try {
        loadDeltaExporterConfig(env);
        return null;
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).message;
      }
    };
    expect(attempt({ LAKE_STORAGE: "local" })).toContain("LAKE_PATH");
    expect(attempt({ LAKE_PATH: "relative" })).toContain("LAKE_PATH");
    expect(attempt({ LAKE_STORAGE: "azure", AZURE_STORAGE_ACCOUNT: "myaccount" })).toContain(
      "AZURE_STORAGE_CONTAINER",
    );
    expect(attempt({ LAKE_PATH: "/l", LAKE_EXPORT_TABLES: "bronze,platinum" })).toContain(
      "LAKE_EXPORT_TABLES",
    );
    const secret = attempt({ LAKE_PATH: "/l", LAKE_EXPORT_BATCH_ROWS: "s3cr3t-value" });
    expect(secret).toContain("LAKE_EXPORT_BATCH_ROWS");
    expect(secret).not.toContain("s3cr3t-value");
  });
});
