// The oracle (what every table and Redis hash must hold for a stream) and the views it rolls up: used by the
// tests, never by the pipeline, so outside the main barrel: `@adpipe/core/testing`.
export {
  type BronzeCounts,
  computeOracle,
  type GoldRow,
  Oracle,
  type OracleOptions,
  type OracleRecord,
  type RecordOutcome,
  type ServingState,
  type SilverCounts,
} from "./oracle.js";
export { advertiserTotals, dailySpend, hourlySpend, monthlySpend, type SpendRollup } from "./views.js";
