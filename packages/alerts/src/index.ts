// The periods a pass evaluates: a rule of @adpipe/core, re-exported where the alerter's callers look for it.
export { periodsToEvaluate } from "@adpipe/core";
export {
  type AlertSenders,
  type DispatchReport,
  OutboxDispatcher,
  type OutboxDispatcherOptions,
} from "./dispatcher.js";
export { ALERTS_ERROR_CODES, AlertsError, type AlertsErrorCode } from "./errors.js";
export {
  type AheadOfPaceCandidate,
  type AheadOfPaceSource,
  AlertEvaluator,
  type AlertEvaluatorOptions,
  type DeliveryTarget,
  type FiredAlert,
} from "./evaluator.js";
export { ALERTS_QUERY_NAMES, checkAlertsQueries } from "./queries.js";
export {
  DEFAULT_SIGNATURE_TOLERANCE_S,
  EVENT_ID_HEADER,
  SIGNATURE_HEADER,
  signWebhook,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
} from "./signature.js";
export { alertEventFields, type StoredAlert } from "./stored-alert.js";
export { type WebhookSenderOptions, webhookSender } from "./webhook.js";
