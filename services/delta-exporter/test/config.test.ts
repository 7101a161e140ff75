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

  it("azure: connection string, account key, or Entra ID (AZURE_AUTH); secrets are listed for redaction", () => {
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
      AZURE_AUTH: "managed-identity",
    });
    expect(identity.lake.location).toMatchObject({
      credentials: { kind: "entra-id", account: "myaccount", auth: { mode: "managed-identity" } },
    });
    const app = loadDeltaExporterConfig({
      LAKE_STORAGE: "azure",
      AZURE_STORAGE_CONTAINER: "lake",
      AZURE_STORAGE_ACCOUNT: "myaccount",
      AZURE_AUTH: "client-secret",
      AZURE_TENANT_ID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
      AZURE_CLIENT_ID: "0f3b5a4c-1d2e-4f60-8a9b-0c1d2e3f4a5b",
      AZURE_CLIENT_SECRET: "app-secret-value",
    });
    expect(app.lake.secrets).toEqual(["app-secret-value"]);
    expect(JSON.stringify(app.lake.location)).not.toContain("app-secret-value");
  });

  it("azure without a key needs AZURE_AUTH, an https endpoint and a readable CA file", () => {
    const base = {
      LAKE_STORAGE: "azure",
      AZURE_STORAGE_CONTAINER: "lake",
      AZURE_STORAGE_ACCOUNT: "myaccount",
    };
    const failure = (env: Record<string, string>) => {
      try {
        loadDeltaExporterConfig(env);
      } catch (error) {
        if (error instanceof ConfigError) return error;
        throw error;
      }
      throw new Error("expected a ConfigError");
    };
    expect(failure(base).message).toContain(
      "AZURE_AUTH: required with LAKE_STORAGE=azure without AZURE_STORAGE_KEY (Entra ID)",
    );
    expect(
      failure({ ...base, AZURE_AUTH: "azure-cli", AZURE_STORAGE_ENDPOINT: "http://127.0.0.1:10000/a" })
        .variable,
    ).toBe("AZURE_STORAGE_ENDPOINT");
    const ca = failure({ ...base, AZURE_AUTH: "azure-cli", AZURE_STORAGE_CA_FILE: "/nonexistent/ca.pem" });
    expect(ca.code).toBe("ADP_CONFIG_UNREADABLE_FILE");
    expect(ca.variable).toBe("AZURE_STORAGE_CA_FILE");
    // A key (or a connection string) is an explicit choice: AZURE_AUTH, set for Event Hubs, is then not used for Blob.
    expect(
      loadDeltaExporterConfig({ ...base, AZURE_STORAGE_KEY: "k3y", AZURE_AUTH: "workload-identity" }).lake
        .location,
    ).toMatchObject({ credentials: { kind: "account-key" } });
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
