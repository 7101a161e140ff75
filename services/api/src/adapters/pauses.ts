import type { SpendStore } from "@adpipe/spend-store";
import { ApiError } from "../errors.js";
import type { PauseControl } from "../ports.js";

/**
 * Pauses through the spend-store (the tracker's Lua): `_paused` in the advertiser hash forces
 * can_serve "0" with reason `paused`, survives clicks, period rollovers and rebuilds, and the flip is
 * announced on the serving-changes channel like any other.
 */
export function spendStorePauseControl(store: SpendStore): PauseControl {
  return {
    async setPaused(advertiserId, paused) {
      // Adopt the current state epoch (a rebuild may have replaced it since the last call).
      const meta = await store.readMeta();
      if (meta === null) {
        throw new ApiError(
          "dependency_unavailable",
          "the real-time state is not initialised (budget-tracker not started, or rebuilding): retry shortly",
          { retryAfterSeconds: 5, details: { dependency: "redis" } },
        );
      }
      await store.setPaused(advertiserId, paused);
    },
  };
}
