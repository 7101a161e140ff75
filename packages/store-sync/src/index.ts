export { type StoreSyncEnv, storeSyncEnvSchema } from "./env.js";
export { type RebuildOutcome, type RebuildSource, rebuildState } from "./rebuild.js";
export {
  type AdvertiserDifference,
  offsetDistance,
  type PeriodTotals,
  type ReconcileReport,
  reconcileTotals,
} from "./reconcile.js";
export { reconcileWithWarehouse } from "./reconcile-with-warehouse.js";
export {
  loadWarehouseSnapshot,
  type WarehouseSnapshot,
  type WarehouseSnapshotOptions,
} from "./warehouse-snapshot.js";
