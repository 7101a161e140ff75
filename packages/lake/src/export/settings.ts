import { readFileSync } from "node:fs";
import { isAbsolute } from "node:path";
import {
  type AzureAuth,
  azureAuthEnvSchema,
  azureAuthFromConfig,
  ConfigError,
  type ConfigIssue,
  envVar,
  postgresEnvSchema,
} from "@adpipe/config";
import type { Logger } from "@adpipe/telemetry";
import type { TokenCredential } from "@azure/core-auth";
import { z } from "zod";
import { DEFAULT_DELTA_OPTIONS, DeltaLakeSink } from "../delta/table.js";
import type { LakeSink } from "../lake.js";
import { AzureBlobObjectStore, type AzureCredentials } from "../storage/azure.js";
import { LocalObjectStore } from "../storage/local.js";
import type { ObjectStore } from "../storage/object-store.js";
import { EXPORT_TABLE_KEYS, type ExportTableKey } from "./tables.js";

/**
 * Settings of the lake export shared by services/delta-exporter and `adpipe export` (environment variables).
 * Secrets (AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY, AZURE_CLIENT_SECRET, DATABASE_URL's password) are
 * never logged.
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
  /** Azure: the storage account name (with AZURE_STORAGE_KEY, or with AZURE_AUTH for Entra ID). */
  AZURE_STORAGE_ACCOUNT: z
    .string()
    .regex(/^[a-z0-9]{3,24}$/, "expected a storage account name")
    .optional(),
  /** Azure: an account key. Without it (and without a connection string) Entra ID is used: AZURE_AUTH=... */
  AZURE_STORAGE_KEY: z.string().min(1).optional(),
  /** Entra ID for Blob Storage (no key): AZURE_AUTH and its companions, shared with Event Hubs. */
  ...azureAuthEnvSchema.shape,
  /** Azure: the container. */
  AZURE_STORAGE_CONTAINER: z
    .string()
    .regex(/^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$/, "expected a container name")
    .optional(),
  /** Azure: blob endpoint override (sovereign clouds, private endpoints, Azurite). */
  AZURE_STORAGE_ENDPOINT: envVar.url(["https:", "http:"]).optional(),
  /** Azure: PEM file of CA(s) to trust besides the system's (a private endpoint's internal CA, Azurite over https). */
  AZURE_STORAGE_CA_FILE: z.string().optional(),
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
      /** PEM of extra CAs to trust (AZURE_STORAGE_CA_FILE). */
      readonly tlsCa?: string;
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

/** Entra ID for the storage account: AZURE_AUTH is required (no silent credential chain), over https only. */
function entraIdAuth(env: LakeEnv): AzureAuth {
  const issues: ConfigIssue[] = [];
  if (env.AZURE_STORAGE_ENDPOINT !== undefined && !env.AZURE_STORAGE_ENDPOINT.startsWith("https:")) {
    issues.push({
      variable: "AZURE_STORAGE_ENDPOINT",
      message:
        "Entra ID tokens are sent over https only: use an https:// endpoint (or a key for a local http Azurite)",
    });
  }
  const auth = azureAuthFromConfig(env, "LAKE_STORAGE=azure without AZURE_STORAGE_KEY (Entra ID)", issues);
  if (auth === undefined || issues.length > 0) {
    const unreadable = issues.some((issue) => issue.message.startsWith("cannot read"));
    throw new ConfigError(unreadable ? "unreadable_file" : "invalid_env", issues);
  }
  return auth;
}

function readCa(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (error) {
    const reason = error instanceof Error && "code" in error ? String(error.code) : "unreadable";
    throw new ConfigError("unreadable_file", [
      { variable: "AZURE_STORAGE_CA_FILE", message: `cannot read ${path} (${reason})` },
    ]);
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----"))
    fail("AZURE_STORAGE_CA_FILE", `${path} holds no PEM certificate`);
  return pem;
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
        kind: "entra-id",
        account: env.AZURE_STORAGE_ACCOUNT,
        auth: entraIdAuth(env),
        ...(env.AZURE_STORAGE_ENDPOINT === undefined ? {} : { endpoint: env.AZURE_STORAGE_ENDPOINT }),
      };
    }
    const tlsCa = env.AZURE_STORAGE_CA_FILE === undefined ? undefined : readCa(env.AZURE_STORAGE_CA_FILE);
    location = {
      storage: "azure",
      container: env.AZURE_STORAGE_CONTAINER,
      prefix: env.LAKE_PATH ?? "",
      credentials,
      createContainer: env.AZURE_STORAGE_CREATE_CONTAINER,
      ...(tlsCa === undefined ? {} : { tlsCa }),
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
    secrets: [env.AZURE_STORAGE_CONNECTION_STRING, env.AZURE_STORAGE_KEY, env.AZURE_CLIENT_SECRET].filter(
      (secret): secret is string => secret !== undefined,
    ),
  };
}

/**
 * The object store a location names (Azure: checks the container when asked to create it). `credential` replaces
 * the @azure/identity credential AZURE_AUTH names (tests point one at their own identity provider).
 */
export async function openObjectStore(
  location: LakeLocation,
  options: { credential?: TokenCredential } = {},
): Promise<ObjectStore> {
  if (location.storage === "local") return new LocalObjectStore(location.path);
  const credentials =
    options.credential !== undefined && location.credentials.kind === "entra-id"
      ? { ...location.credentials, credential: options.credential }
      : location.credentials;
  return AzureBlobObjectStore.open({
    credentials,
    container: location.container,
    prefix: location.prefix,
    createContainer: location.createContainer,
    ...(location.tlsCa === undefined ? {} : { tlsCa: location.tlsCa }),
  });
}

/** The lake sink of the settings (Delta Lake on the configured storage). */
export async function openLakeSink(settings: LakeSettings, logger?: Logger): Promise<LakeSink> {
  const store = await openObjectStore(settings.location);
  return new DeltaLakeSink(store, {
    checkpointInterval: settings.checkpointInterval,
    parquet: { compression: settings.compression, rowGroupRows: settings.rowGroupRows },
    logger: logger ?? DEFAULT_DELTA_OPTIONS.logger,
  });
}
