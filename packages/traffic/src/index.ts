// What callers outside the package use: the simulate command (simulator service, `adpipe simulate`), a run
// from options (tests), replay of a run's manifest (oracle checks) and the sinks (bench, Azure tests).
export { runSimulatorCli, SIMULATOR_EXIT, simulateCommand } from "./command.js";
export { parseSimulatorOptions, type RawSimulatorOptions } from "./options.js";
export { replayManifest, type SimulationManifest } from "./plan.js";
export { runSimulation } from "./simulate.js";
export { EventHubsSdkSink } from "./sinks/event-hubs-sdk-sink.js";
export { NativeKafkaSink, supportsNativeProduce } from "./sinks/native/native-kafka-sink.js";
