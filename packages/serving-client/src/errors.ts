import { defineErrors } from "@adpipe/errors";

export const SERVING_CLIENT_ERROR_CODES = [
  "invalid_advertiser_id",
  "invalid_option",
  "malformed_state",
  "invalid_reservation",
  "malformed_reply",
] as const;
export type ServingClientErrorCode = (typeof SERVING_CLIENT_ERROR_CODES)[number];

/** The one error class of @adpipe/serving-client. Redis errors are passed through unchanged. */
export class ServingClientError extends defineErrors("ADP_SERVING_CLIENT", SERVING_CLIENT_ERROR_CODES) {}
