export {
  type CliIo,
  createSink,
  describeFailure,
  formatSummary,
  manifestOf,
  runSimulatorCli,
  SIMULATOR_EXIT,
  simulateCommand,
  summaryJson,
  writeManifest,
} from "./cli.js";
export {
  isSimulatorError,
  SIMULATOR_ERROR_CODES,
  SimulatorError,
  type SimulatorErrorCode,
} from "./errors.js";
export {
  ACKS,
  type AcksName,
  addSimulatorOptions,
  COMPRESSIONS,
  type CompressionName,
  MAX_MODE_NOMINAL_RATE,
  PRODUCERS,
  PROGRESS_MODES,
  type ProducerKind,
  type ProgressMode,
  parseDuration,
  parseSimulatorOptions,
  parseStart,
  parseUnits,
  type RawSimulatorOptions,
  type SimulatorOptions,
  TRANSPORTS,
  type Transport,
} from "./options.js";
export { Pacer } from "./pacer.js";
export { generatorOptionsFor, replayManifest, type SimulationManifest } from "./plan.js";
export { createProgressReporter, type ProgressOptions, type ProgressReporter } from "./progress.js";
export {
  type RunSimulationParams,
  runSimulation,
  type SimulationResult,
  type StopReason,
} from "./simulate.js";
export { EventHubsSdkSink, type EventHubsSdkTarget } from "./sinks/event-hubs-sdk-sink.js";
export { KafkaSink, type KafkaSinkOptions } from "./sinks/kafka-sink.js";
export { crc32c } from "./sinks/native/crc32c.js";
export {
  NativeKafkaSink,
  type NativeKafkaSinkOptions,
  supportsNativeProduce,
} from "./sinks/native/native-kafka-sink.js";
export {
  decodeProduceResponse,
  encodeProduceRequest,
  type PartitionRecords,
  type ProduceRequest,
} from "./sinks/native/produce-request.js";
export { chunkByBytes, type RecordSink, recordBytes } from "./sinks/sink.js";
export {
  InlineSource,
  type PackedChunk,
  packChunk,
  type RecordSource,
  unpackChunk,
  WorkerSource,
} from "./source.js";
export { averageRate, countSent, emptyStats, type SimulationStats } from "./stats.js";
