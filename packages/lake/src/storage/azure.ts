import { type AzureAuth, createAzureCredential, sanitizeAzureError } from "@adpipe/config";
import type { TokenCredential } from "@azure/core-auth";
import {
  BlobServiceClient,
  type ContainerClient,
  type StoragePipelineOptions,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";
import { LakeError } from "../errors.js";
import { joinPath, type ObjectInfo, type ObjectStore } from "./object-store.js";

/** How to authenticate to the storage account. */
export type AzureCredentials =
  /** A full connection string (account key or SAS; Azurite's development string too). Secret. */
  | { readonly kind: "connection-string"; readonly connectionString: string }
  /** Account name + shared key. Secret. */
  | {
      readonly kind: "account-key";
      readonly account: string;
      readonly accountKey: string;
      readonly endpoint?: string;
    }
  /**
   * Microsoft Entra ID (no key): the @azure/identity credential AZURE_AUTH names (workload identity on AKS, a
   * managed identity, an app registration's secret, az login), or a TokenCredential given directly. The identity
   * needs "Storage Blob Data Contributor" on the container. Bearer tokens are sent over https only.
   */
  | {
      readonly kind: "entra-id";
      readonly account: string;
      readonly endpoint?: string;
      readonly auth?: AzureAuth;
      readonly credential?: TokenCredential;
    };

export interface AzureBlobStoreOptions {
  readonly credentials: AzureCredentials;
  readonly container: string;
  /** Folder inside the container the lake lives under ("" = container root). */
  readonly prefix?: string;
  /** Create the container when missing (needs container-create permission). Default false. */
  readonly createContainer?: boolean;
  /** PEM CA(s) to trust besides the system's: a private endpoint with an internal CA, Azurite over https. */
  readonly tlsCa?: string;
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const status = (error as { statusCode?: unknown }).statusCode;
  return typeof status === "number" ? status : undefined;
}

/**
 * A storage failure with what an operator needs: for 401/403 that the credential was refused and the service's
 * reason (e.g. "Lifetime validation failed. The token is expired."), which retrying will not fix.
 */
function storageFailure(action: string, error: unknown): LakeError {
  const cause = sanitizeAzureError(error) as {
    statusCode?: unknown;
    authenticationErrorDetail?: unknown;
    message?: string;
  };
  const status = statusOf(error);
  const reason =
    typeof cause.authenticationErrorDetail === "string"
      ? cause.authenticationErrorDetail
      : (cause.message ?? "").split("\n")[0];
  const detail =
    status === 401 || status === 403
      ? `: the storage account refused the credential (HTTP ${status}${reason ? `: ${reason}` : ""}); ` +
        "check the identity's Storage Blob Data role on the container, the token audience and the key"
      : "";
  return new LakeError("storage_failed", `${action}${detail}`, { cause });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), b) === 0;
}

const PIPELINE: StoragePipelineOptions = {
  retryOptions: { maxTries: 4, retryDelayInMs: 200, maxRetryDelayInMs: 5_000, tryTimeoutInMs: 120_000 },
};

async function serviceClient(credentials: AzureCredentials, tlsCa?: string): Promise<BlobServiceClient> {
  // createClientPipeline (which the storage SDK builds its pipeline with) takes tlsOptions; the storage SDK's
  // own options type does not list it but passes it through.
  const pipeline = (
    tlsCa === undefined ? PIPELINE : { ...PIPELINE, tlsOptions: { ca: tlsCa } }
  ) as StoragePipelineOptions;
  switch (credentials.kind) {
    case "connection-string":
      return BlobServiceClient.fromConnectionString(credentials.connectionString, pipeline);
    case "account-key":
      return new BlobServiceClient(
        credentials.endpoint ?? `https://${credentials.account}.blob.core.windows.net`,
        new StorageSharedKeyCredential(credentials.account, credentials.accountKey),
        pipeline,
      );
    case "entra-id": {
      const endpoint = credentials.endpoint ?? `https://${credentials.account}.blob.core.windows.net`;
      if (!endpoint.startsWith("https://")) {
        throw new LakeError("invalid_config", `Entra ID tokens are sent over https only, not to ${endpoint}`);
      }
      let credential = credentials.credential;
      if (credential === undefined) {
        if (credentials.auth === undefined) {
          throw new LakeError("invalid_config", "Entra ID storage access needs AZURE_AUTH or a credential");
        }
        credential = await createAzureCredential(credentials.auth);
      }
      return new BlobServiceClient(endpoint, credential, pipeline);
    }
  }
}

/**
 * A container (optionally a folder in it) of an Azure Storage account, through the Blob API — which also serves
 * ADLS Gen2 (hierarchical namespace) accounts. `putIfAbsent` is one Put Blob with `If-None-Match: *`: the service
 * creates the blob only if no blob of that name exists, atomically.
 */
export class AzureBlobObjectStore implements ObjectStore {
  readonly description: string;

  private constructor(
    private readonly container: ContainerClient,
    private readonly prefix: string,
  ) {
    this.description = `azure://${container.accountName}/${container.containerName}${prefix === "" ? "" : `/${prefix}`}`;
  }

  static async open(options: AzureBlobStoreOptions): Promise<AzureBlobObjectStore> {
    let service: BlobServiceClient;
    try {
      service = await serviceClient(options.credentials, options.tlsCa);
    } catch (error) {
      if (error instanceof LakeError) throw error;
      throw new LakeError("invalid_config", "cannot build the Azure Blob client (check the credentials)", {
        cause: error,
      });
    }
    const container = service.getContainerClient(options.container);
    if (options.createContainer === true) {
      try {
        await container.createIfNotExists();
      } catch (error) {
        throw storageFailure(`cannot create container ${options.container}`, error);
      }
    }
    return new AzureBlobObjectStore(container, joinPath(options.prefix ?? ""));
  }

  private name(path: string): string {
    return this.prefix === "" ? path : `${this.prefix}/${path}`;
  }

  async get(path: string): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await this.container.getBlobClient(this.name(path)).downloadToBuffer());
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw storageFailure(`cannot read ${path}`, error);
    }
  }

  async put(path: string, data: Uint8Array): Promise<void> {
    try {
      await this.container.getBlockBlobClient(this.name(path)).uploadData(data);
    } catch (error) {
      throw storageFailure(`cannot write ${path}`, error);
    }
  }

  async putIfAbsent(path: string, data: Uint8Array): Promise<boolean> {
    try {
      // One Put Blob (not a block list), so the conditional create is a single atomic request.
      await this.container
        .getBlockBlobClient(this.name(path))
        .upload(data, data.length, { conditions: { ifNoneMatch: "*" } });
      return true;
    } catch (error) {
      const status = statusOf(error);
      if (status !== 409 && status !== 412) {
        throw storageFailure(`cannot create ${path}`, error);
      }
    }
    // The blob exists. If the SDK retried our own request after a lost response, it holds exactly our bytes
    // (every commit carries a unique id), and the commit is ours.
    const existing = await this.get(path);
    return existing !== null && sameBytes(existing, data);
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const strip = this.prefix === "" ? 0 : this.prefix.length + 1;
    try {
      for await (const blob of this.container.listBlobsFlat({ prefix: this.name(prefix) })) {
        out.push({
          path: blob.name.slice(strip),
          size: blob.properties.contentLength ?? 0,
          modifiedMs: blob.properties.lastModified?.getTime() ?? 0,
        });
      }
    } catch (error) {
      throw storageFailure(`cannot list ${prefix}`, error);
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async delete(path: string): Promise<void> {
    try {
      await this.container.getBlobClient(this.name(path)).deleteIfExists();
    } catch (error) {
      throw storageFailure(`cannot delete ${path}`, error);
    }
  }
}
