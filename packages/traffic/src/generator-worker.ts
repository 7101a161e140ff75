/**
 * Worker thread of WorkerSource: runs the core generator and posts packed chunks as the parent grants
 * credits. Its buffers are transferred, not copied.
 */
import { parentPort, workerData } from "node:worker_threads";
import { type GeneratedRecord, type GeneratorOptions, generateStream } from "@adpipe/core";
import { type ParentMessage, packChunk, type WorkerMessage } from "./source.js";

const { options, chunkSize } = workerData as { options: GeneratorOptions; chunkSize: number };
const port = parentPort;
if (port === null) throw new Error("generator-worker must run in a worker thread");

const iterator = generateStream(options);
let credits = 0;
let done = false;

function post(message: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

function pump(): void {
  try {
    while (credits > 0 && !done) {
      const records: GeneratedRecord[] = [];
      while (records.length < chunkSize) {
        const step = iterator.next();
        if (step.done === true) {
          done = true;
          break;
        }
        records.push(step.value);
      }
      if (records.length > 0) {
        credits--;
        const chunk = packChunk(records);
        post({ type: "chunk", chunk }, [
          chunk.values,
          chunk.offsets.buffer as ArrayBuffer,
          chunk.timestamps.buffer as ArrayBuffer,
          chunk.kinds.buffer as ArrayBuffer,
        ]);
      }
      if (done) post({ type: "done" });
    }
  } catch (error) {
    done = true;
    post({ type: "error", message: error instanceof Error ? error.message : String(error) });
  }
}

port.on("message", (message: ParentMessage) => {
  if (message.type === "stop") {
    done = true;
    port.close();
    return;
  }
  credits += message.credits;
  // Yield between bursts so a stop message is seen promptly.
  setImmediate(pump);
});
