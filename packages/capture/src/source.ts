import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { isIP } from "node:net";
import { join, relative, sep } from "node:path";
import type { Readable } from "node:stream";
import {
  azureAuthFromEnv,
  ConfigError,
  createAzureCredential,
  type Env,
  redactUrl,
  sanitizeAzureError,
} from "@adpipe/config";
import type { TokenCredential } from "@azure/core-auth";
import {
  AnonymousCredential,
  BlobServiceClient,
  type ContainerClient,
  type StoragePipelineOptions,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";
import { CaptureError } from "./errors.js";

/** One file of a Capture source. `path` is relative to the source, with "/" separators. */
export interface CaptureFileInfo {
  readonly path: string;
  readonly size: number;
}

/** Where Capture files are: a local directory (or one file) or a Blob Storage container/folder. */
export interface CaptureSource {
  /** Safe to print (a SAS signature is redacted). */
  readonly description: string;
  /** Every `.avro` file under the source, in path order. */
  list(): Promise<CaptureFileInfo[]>;
  /** A stream of one file's bytes. */
  open(path: string): Promise<Readable>;
}

class LocalCaptureSource implements CaptureSource {
  readonly description: string;

  constructor(
    private readonly root: string,
    private readonly singleFile: boolean,
  ) {
    this.description = root;
  }

  async list(): Promise<CaptureFileInfo[]> {
    if (this.singleFile) return [{ path: this.root, size: (await stat(this.root)).size }];
    const out: CaptureFileInfo[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.isFile() && entry.name.endsWith(".avro")) {
          out.push({ path: relative(this.root, full).split(sep).join("/"), size: (await stat(full)).size });
        }
      }
    };
    try {
      await walk(this.root);
    } catch (error) {
      throw new CaptureError("source_failed", `cannot list ${this.root}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async open(path: string): Promise<Readable> {
    return createReadStream(this.singleFile ? this.root : join(this.root, path));
  }
}

class BlobCaptureSource implements CaptureSource {
  constructor(
    private readonly container: ContainerClient,
    private readonly prefix: string,
    readonly description: string,
  ) {}

  async list(): Promise<CaptureFileInfo[]> {
    const out: CaptureFileInfo[] = [];
    const strip = this.prefix === "" ? 0 : this.prefix.length + 1;
    try {
      const listing = this.container.listBlobsFlat(this.prefix === "" ? {} : { prefix: `${this.prefix}/` });
      for await (const blob of listing) {
        if (blob.name.endsWith(".avro")) {
          out.push({ path: blob.name.slice(strip), size: blob.properties.contentLength ?? 0 });
        }
      }
    } catch (error) {
      throw blobFailure(`cannot list ${this.description}`, error);
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async open(path: string): Promise<Readable> {
    const name = this.prefix === "" ? path : `${this.prefix}/${path}`;
    try {
      const response = await this.container.getBlobClient(name).download();
      const body = response.readableStreamBody;
      if (body === undefined) throw new Error("the download has no body");
      return body as Readable;
    } catch (error) {
      throw blobFailure(`cannot read ${name}`, error);
    }
  }
}

function blobFailure(action: string, error: unknown): CaptureError {
  const cause = sanitizeAzureError(error) as {
    statusCode?: unknown;
    authenticationErrorDetail?: unknown;
    message?: string;
  };
  const status = cause.statusCode;
  const detail =
    status === 401 || status === 403
      ? `: the storage account refused the credential (HTTP ${status}${
          typeof cause.authenticationErrorDetail === "string" ? `: ${cause.authenticationErrorDetail}` : ""
        }); the identity needs Storage Blob Data Reader on the container`
      : `: ${(cause.message ?? "").split("\n")[0]}`;
  return new CaptureError("source_failed", `${action}${detail}`, { cause });
}

export interface OpenCaptureSourceOptions {
  /** Environment for the Blob credential (AZURE_AUTH..., AZURE_STORAGE_KEY, AZURE_STORAGE_CA_FILE). */
  readonly env?: Env;
  /** Replaces the @azure/identity credential AZURE_AUTH names (tests use their own identity provider). */
  readonly credential?: TokenCredential;
  /** PEM of CA(s) to trust besides the system's (default: AZURE_STORAGE_CA_FILE's content, read by the caller). */
  readonly tlsCa?: string;
}

/** Account, container and folder of a blob URL; IP/localhost hosts (Azurite) carry the account in the path. */
export function parseBlobUrl(text: string): {
  url: URL;
  account: string;
  container: string;
  prefix: string;
  serviceUrl: string;
} {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CaptureError("invalid_source", `--source ${redactUrl(text)} is not a URL or a directory`);
  }
  const segments = url.pathname
    .split("/")
    .filter((part) => part !== "")
    .map(decodeURIComponent);
  const pathStyle = isIP(url.hostname.replace(/^\[|\]$/g, "")) !== 0 || url.hostname === "localhost";
  const account = pathStyle ? segments.shift() : url.hostname.split(".")[0];
  const container = segments.shift();
  if (account === undefined || account === "" || container === undefined) {
    throw new CaptureError(
      "invalid_source",
      `--source ${redactUrl(text)}: expected https://<account>.blob.core.windows.net/<container>[/<folder>]`,
    );
  }
  const serviceUrl = `${url.protocol}//${url.host}${pathStyle ? `/${account}` : ""}`;
  return { url, account, container, prefix: segments.join("/"), serviceUrl };
}

/**
 * The Capture source `source` names: a local directory (or a single .avro file), or a Blob Storage URL
 * `https://<account>.blob.core.windows.net/<container>[/<folder>]`. Blob credentials, in order: a SAS in the URL,
 * AZURE_STORAGE_KEY, else Entra ID (AZURE_AUTH, as for the lake and Event Hubs).
 */
export async function openCaptureSource(
  source: string,
  options: OpenCaptureSourceOptions = {},
): Promise<CaptureSource> {
  if (!/^https?:\/\//i.test(source)) {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(source);
    } catch {
      throw new CaptureError("invalid_source", `--source ${source}: no such directory or file`);
    }
    if (!info.isDirectory() && !(info.isFile() && source.endsWith(".avro"))) {
      throw new CaptureError("invalid_source", `--source ${source}: expected a directory or an .avro file`);
    }
    return new LocalCaptureSource(source, info.isFile());
  }
  const env = options.env ?? process.env;
  const { url, account, container, prefix, serviceUrl } = parseBlobUrl(source);
  const description = redactUrl(source);
  const sas = url.searchParams.has("sig");
  const key = env.AZURE_STORAGE_KEY;
  if (url.protocol !== "https:" && key === undefined) {
    throw new CaptureError(
      "invalid_source",
      `--source ${description}: tokens and SAS signatures go over https only`,
    );
  }
  let credential: TokenCredential | StorageSharedKeyCredential | AnonymousCredential;
  if (sas) credential = new AnonymousCredential();
  else if (options.credential !== undefined) credential = options.credential;
  else if (key !== undefined && key !== "") credential = new StorageSharedKeyCredential(account, key);
  else {
    try {
      credential = await createAzureCredential(
        azureAuthFromEnv(env, "a Blob Storage --source without a SAS or AZURE_STORAGE_KEY"),
      );
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      throw new CaptureError(
        "invalid_source",
        `cannot build the Entra ID credential: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }
  const pipeline = {
    retryOptions: { maxTries: 4, retryDelayInMs: 200, maxRetryDelayInMs: 5_000 },
    ...(options.tlsCa === undefined ? {} : { tlsOptions: { ca: options.tlsCa } }),
  } as StoragePipelineOptions;
  const service = new BlobServiceClient(`${serviceUrl}${sas ? url.search : ""}`, credential, pipeline);
  return new BlobCaptureSource(service.getContainerClient(container), prefix, description);
}
