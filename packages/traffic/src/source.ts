import { Worker } from "node:worker_threads";
import {
  GENERATED_KINDS,
  type GeneratedKind,
  type GeneratedRecord,
  type GeneratorOptions,
  generateStream,
} from "@adpipe/core";
import { SimulatorError } from "./errors.js";

/** Hands out the generated stream in order, a slice at a time. */
export interface RecordSource {
  /** Up to `max` next records; [] when the stream is exhausted. */
  next(max: number): Promise<GeneratedRecord[]>;
  close(): Promise<void>;
}

/** Generates on the calling thread. */
export class InlineSource implements RecordSource {
  private readonly iterator: Iterator<GeneratedRecord, void>;
  private done = false;

  constructor(options: GeneratorOptions) {
    this.iterator = generateStream(options);
  }

  async next(max: number): Promise<GeneratedRecord[]> {
    const out: GeneratedRecord[] = [];
    while (!this.done && out.length < max) {
      const step = this.iterator.next();
      if (step.done === true) this.done = true;
      else out.push(step.value);
    }
    return out;
  }

  async close(): Promise<void> {
    this.done = true;
  }
}

/** A slice of the stream packed into transferable arrays (one buffer for all values). */
export interface PackedChunk {
  readonly count: number;
  readonly keys: (string | null)[];
  readonly values: ArrayBuffer;
  /** count + 1 offsets into `values`. */
  readonly offsets: Uint32Array;
  readonly timestamps: Float64Array;
  /** Index into GENERATED_KINDS. */
  readonly kinds: Uint8Array;
}

const KIND_INDEX = new Map<GeneratedKind, number>(GENERATED_KINDS.map((kind, index) => [kind, index]));

export function packChunk(records: readonly GeneratedRecord[]): PackedChunk {
  const count = records.length;
  let total = 0;
  for (const record of records) total += record.value.byteLength;
  const values = new ArrayBuffer(total);
  const bytes = new Uint8Array(values);
  const offsets = new Uint32Array(count + 1);
  const timestamps = new Float64Array(count);
  const kinds = new Uint8Array(count);
  const keys: (string | null)[] = new Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const record = records[i] as GeneratedRecord;
    offsets[i] = at;
    bytes.set(record.value, at);
    at += record.value.byteLength;
    timestamps[i] = record.timestampMs;
    kinds[i] = KIND_INDEX.get(record.kind) ?? 0;
    keys[i] = record.key;
  }
  offsets[count] = at;
  return { count, keys, values, offsets, timestamps, kinds };
}

/** The records of a packed chunk; values are views on the chunk's buffer (no copy). */
export function unpackChunk(chunk: PackedChunk): GeneratedRecord[] {
  const out: GeneratedRecord[] = new Array(chunk.count);
  for (let i = 0; i < chunk.count; i++) {
    const start = chunk.offsets[i] as number;
    const end = chunk.offsets[i + 1] as number;
    out[i] = {
      key: chunk.keys[i] ?? null,
      value: new Uint8Array(chunk.values, start, end - start),
      timestampMs: chunk.timestamps[i] as number,
      kind: GENERATED_KINDS[chunk.kinds[i] as number] as GeneratedKind,
    };
  }
  return out;
}

export type WorkerMessage =
  | { type: "chunk"; chunk: PackedChunk }
  | { type: "done" }
  | { type: "error"; message: string };

/** What the parent asks of the worker: more chunks (credits), or stop. */
export type ParentMessage = { type: "credits"; credits: number } | { type: "stop" };

export interface WorkerSourceOptions {
  /** Records per chunk. Default 4096. */
  chunkSize?: number;
  /** Chunks generated ahead of the sender. Default 8. */
  aheadChunks?: number;
}

/**
 * Generates in a worker thread while the main thread produces: the two run on different cores. The worker
 * stays at most `aheadChunks` chunks ahead (credit-based flow control), so memory stays bounded.
 */
export class WorkerSource implements RecordSource {
  private readonly worker: Worker;
  private readonly ready: GeneratedRecord[][] = [];
  private buffered: GeneratedRecord[] = [];
  private finished = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private readonly aheadChunks: number;

  constructor(options: GeneratorOptions, sourceOptions: WorkerSourceOptions = {}) {
    this.aheadChunks = sourceOptions.aheadChunks ?? 8;
    const workerData = { options, chunkSize: sourceOptions.chunkSize ?? 4096 };
    if (import.meta.url.endsWith(".js")) {
      this.worker = new Worker(new URL("./generator-worker.js", import.meta.url), { workerData });
    } else {
      // Running from TypeScript (tsx, vitest): a worker does not inherit the parent's loader, so it registers
      // tsx itself and resolves workspace packages to their sources, as the parent does.
      const entry = new URL("./generator-worker.ts", import.meta.url).href;
      const bootstrap = `import("tsx/esm/api").then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
      this.worker = new Worker(bootstrap, { eval: true, workerData, execArgv: ["--conditions", "source"] });
    }
    this.worker.on("message", (message: WorkerMessage) => {
      if (message.type === "chunk") this.ready.push(unpackChunk(message.chunk));
      else if (message.type === "done") this.finished = true;
      else this.failure = new SimulatorError("worker_failed", `generator thread failed: ${message.message}`);
      this.notify();
    });
    this.worker.on("error", (error) => {
      this.failure = new SimulatorError("worker_failed", `generator thread failed: ${error.message}`, {
        cause: error,
      });
      this.notify();
    });
    this.worker.on("exit", () => {
      this.finished = true;
      this.notify();
    });
    this.worker.postMessage({ type: "credits", credits: this.aheadChunks } satisfies ParentMessage);
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async next(max: number): Promise<GeneratedRecord[]> {
    const out: GeneratedRecord[] = [];
    while (out.length < max) {
      if (this.failure !== undefined) throw this.failure;
      if (this.buffered.length === 0) {
        const chunk = this.ready.shift();
        if (chunk !== undefined) {
          this.buffered = chunk;
          this.worker.postMessage({ type: "credits", credits: 1 } satisfies ParentMessage);
          continue;
        }
        if (this.finished || out.length > 0) break;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        continue;
      }
      const take = Math.min(max - out.length, this.buffered.length);
      if (take === this.buffered.length && out.length === 0) {
        out.push(...this.buffered);
        this.buffered = [];
      } else {
        out.push(...this.buffered.slice(0, take));
        this.buffered = this.buffered.slice(take);
      }
    }
    return out;
  }

  async close(): Promise<void> {
    this.worker.postMessage({ type: "stop" } satisfies ParentMessage);
    await this.worker.terminate();
  }
}
