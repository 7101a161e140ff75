export { type ChildExit, type ChildSpec, ManagedChild, runToCompletion } from "./child.js";
export { SUPERVISOR_ERROR_CODES, SupervisorError, type SupervisorErrorCode } from "./errors.js";
export { ensureBroker, ensureInfrastructure, isLocalBroker, kafkaAnswers } from "./infrastructure.js";
export { LinePrinter, type LinePrinterOptions } from "./log-lines.js";
export {
  type CliOptions,
  parseSupervisorOptions,
  type RawSupervisorOptions,
  supervisorCommand,
} from "./options.js";
export { REPO_ROOT, type RunMode, SERVICE_NAMES, type ServiceName, serviceEntry } from "./paths.js";
export {
  dashboardLoginUrl,
  describeState,
  LocalPipeline,
  type PipelineState,
  type RunningChild,
  type SupervisorIo,
  type SupervisorOptions,
  type UnexpectedExit,
} from "./pipeline.js";
