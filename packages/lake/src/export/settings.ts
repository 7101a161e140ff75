import { isAbsolute } from "node:path";
import { ConfigError, envVar, postgresEnvSchema } from "@adpipe/config";
import { z } from "zod";
import { DEFAULT_DELTA_OPTIONS, DeltaLakeSink } from "../delta/table.js";
import type { LakeSink } from "../lake.js";
import type { LakeLogger } from "../logger.js";
import { AzureBlobObjectStore, type AzureCredentials } from "../storage/azure.js";
import { LocalObjectStore } from "../storage/local.js";
import type { ObjectStore } from "../storage/object-store.js";
import { EXPORT_TABLE_KEYS, type ExportTableKey } from "./tables.js";

/**
 * Settings of the lake export shared by services/delta-exporter and `adpipe export` (environment variables).
 * Secrets (AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY, DATABASE_URL's password) are never logged.
 */
export const lakeEnvSchema = z.object({
  ...postgresEnvSchema.shape,
  /** Table format. Only Delta Lake is implemented. */
  LAKE_FORMAT: z.enum(["delta"]).default("delta"),
  /** Where the lake is: a local/mounted directory or an Azure Blob Storage (or ADLS Gen2) container. */
  LAKE_STORAGE: z.enum(["local", "azure"]).default("local"),
  /** local: absolute directory of the lake. azure: folder inside the container ("" = container root). */
  LAKE_PATH: z.string().max(1_000).optional(),
  /** Azure: a connection string (takes precedence over the account settings). */
  AZURE_STORAGE_CONNECTION_STRING: z.string().min(1).optional(),
  /** Azure: the storage account name (with AZURE_STORAGE_KEY, or alone for a managed identity). */
  AZURE_STORAGE_ACCOUNT: z
    .string()
    .regex(/^[a-z0-9]{3,24}$/, "expected a storage account name")
    .optional(),
  /** Azure: an account key; without it the DefaultAzureCredential (managed identity, workload identity, az login) is used. */
  AZURE_STORAGE_KEY: z.string().min(1).optional(),
  /** Azure: the container. */
  AZURE_STORAGE_CONTAINER: z
    .string()
    .regex(/^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$/, "expected a container name")
    .optional(),
  /** Azure: blob endpoint override (sovereign clouds, private endpoints, Azurite). */
  AZURE_STORAGE_ENDPOINT: envVar.url(["https:", "http:"]).optional(),
  /** Azure: create the container when missing (needs permission to create containers). */
  AZURE_STORAGE_CREATE_CONTAINER: envVar.boolean().default(false),
  /** Which tables to export, comma-separated. */
  LAKE_EXPORT_TABLES: envVar
    .list()
    .pipe(z.array(z.enum(EXPORT_TABLE_KEYS)))
    .default([...EXPORT_TABLE_KEYS]),
  /** Rows per Postgres page and per Delta commit. Memory is proportional to it (and to row size). */
  LAKE_EXPORT_BATCH_ROWS: envVar.integer(1, 1_000_000).default(50_000),
  /** Write a Parquet checkpoint every N commits. */
  LAKE_CHECKPOINT_INTERVAL: envVar.integer(1, 10_000).default(10),
  LAKE_PARQUET_COMPRESSION: z.enum(["zstd", "snappy"]).default("zstd"),
  /** Rows per Parquet row group. */
  LAKE_PARQUET_ROW_GROUP_ROWS: envVar.integer(1_000, 10_000_000).default(131_072),
  /** The lake's name in ingest.lake_export_* (default: its location, e.g. "azure://account/container/prefix"). */
  LAKE_EXPORT_ID: z.string().min(1).max(1_000).optional(),
});
export type LakeEnv = z.output<typeof lakeEnvSchema>;

/** Where the lake is and how to reach it, checked. */
export type LakeLocation =
  | { readonly storage: "local"; readonly path: string }
  | {
      readonly storage: "azure";
      readonly container: string;
      readonly prefix: string;
      readonly credentials: AzureCredentials;
      readonly createContainer: boolean;
    };

export interface LakeSettings {
  readonly location: LakeLocation;
  readonly tables: readonly ExportTableKey[];
  readonly batchRows: number;
  readonly checkpointInterval: number;
  readonly compression: "zstd" | "snappy";
  readonly rowGroupRows: number;
  readonly lakeId: string | undefined;
  readonly databaseUrl: string;
  /** Values to scrub from logs. */
  readonly secrets: readonly string[];
}

function fail(variable: string, message: string): never {
  throw new ConfigError("invalid_env", [{ variable, message }]);
}

/** The lake settings of parsed environment variables; throws ConfigError naming the variable (never its value). */
export function lakeSettingsFromEnv(env: LakeEnv): LakeSettings {
  let location: LakeLocation;
  if (env.LAKE_STORAGE === "local") {
    if (env.LAKE_PATH === undefined || !isAbsolute(env.LAKE_PATH)) {
      fail("LAKE_PATH", "required with LAKE_STORAGE=local: an absolute directory");
    }
    location = { storage: "local", path: env.LAKE_PATH };
  } else {
    if (env.AZURE_STORAGE_CONTAINER === undefined)
      fail("AZURE_STORAGE_CONTAINER", "required with LAKE_STORAGE=azure");
    let credentials: AzureCredentials;
    if (env.AZURE_STORAGE_CONNECTION_STRING !== undefined) {
      credentials = { kind: "connection-string", connectionString: env.AZURE_STORAGE_CONNECTION_STRING };
    } else if (env.AZURE_STORAGE_ACCOUNT === undefined) {
      fail("AZURE_STORAGE_ACCOUNT", "set it (or AZURE_STORAGE_CONNECTION_STRING) with LAKE_STORAGE=azure");
    } else if (env.AZURE_STORAGE_KEY !== undefined) {
      credentials = {
        kind: "account-key",
        account: env.AZURE_STORAGE_ACCOUNT,
        accountKey: env.AZURE_STORAGE_KEY,
        ...(env.AZURE_STORAGE_ENDPOINT === undefined ? {} : { endpoint: env.AZURE_STORAGE_ENDPOINT }),
      };
    } else {
      credentials = {
        kind: "default-credential",
        account: env.AZURE_STORAGE_ACCOUNT,
        ...(env.AZURE_STORAGE_ENDPOINT === undefined ? {} : { endpoint: env.AZURE_STORAGE_ENDPOINT }),
      };
    }
    location = {
      storage: "azure",
      container: env.AZURE_STORAGE_CONTAINER,
      prefix: env.LAKE_PATH ?? "",
      credentials,
      createContainer: env.AZURE_STORAGE_CREATE_CONTAINER,
    };
  }
  return {
    location,
    tables: env.LAKE_EXPORT_TABLES,
    batchRows: env.LAKE_EXPORT_BATCH_ROWS,
    checkpointInterval: env.LAKE_CHECKPOINT_INTERVAL,
    compression: env.LAKE_PARQUET_COMPRESSION,
    rowGroupRows: env.LAKE_PARQUET_ROW_GROUP_ROWS,
    lakeId: env.LAKE_EXPORT_ID,
    databaseUrl: env.DATABASE_URL,
    secrets: [env.AZURE_STORAGE_CONNECTION_STRING, env.AZURE_STORAGE_KEY].filter(
      (secret): secret is string => secret !== undefined,
    ),
  };
}

/** The object store a location names (Azure: checks the container when asked to create it). */
export async function openObjectStore(location: LakeLocation): Promise<ObjectStore> {
  if (location.storage === "local") return new LocalObjectStore(location.path);
  return AzureBlobObjectStore.open({
    credentials: location.credentials,
    container: location.container,
    prefix: location.prefix,
    createContainer: location.createContainer,
  });
}

/** The lake sink of the settings (Delta Lake on the configured storage). */
export async function openLakeSink(settings: LakeSettings, logger?: LakeLogger): Promise<LakeSink> {
  const store = await openObjectStore(settings.location);
  return new DeltaLakeSink(store, {
    checkpointInterval: settings.checkpointInterval,
    parquet: { compression: settings.compression, rowGroupRows: settings.rowGroupRows },
    logger: logger ?? DEFAULT_DELTA_OPTIONS.logger,
  });
}
