/**
 * The answers the dashboard (web/src) reads, as types inferred from the route schemas: the page and the API
 * cannot drift apart. Type-only: the browser bundle imports nothing from here at run time.
 */

import type {
  advertiserSummarySchema,
  alertItemSchema,
  auditEntrySchema,
  auditResponseSchema,
  budgetChangeResponseSchema,
  dashboardConfigSchema,
  pageFields,
  pauseResponseSchema,
  pipelineHealthSchema,
  servingStateSchema,
} from "@adpipe/api-contract";
import type { z } from "zod";
import type { ReportItem } from "./reports/definitions.js";

/** A list answer: its items and the page fields. */
export type Page<T> = z.output<z.ZodObject<typeof pageFields>> & { items: T[] };

export type TotalRow = ReportItem<"total">;
export type MonthlyRow = ReportItem<"monthly">;
export type DailyRow = ReportItem<"daily">;
export type BudgetTrendRow = ReportItem<"budget_trend">;
export type CombinedRow = ReportItem<"combined">;
export type GoldStatusRow = ReportItem<"serving_status">;
export type AdvertiserRow = z.output<typeof advertiserSummarySchema>;
export type ServingRow = z.output<typeof servingStateSchema>;
export type PipelineHealth = z.output<typeof pipelineHealthSchema>;
export type DashboardConfig = z.output<typeof dashboardConfigSchema>;
export type AuditEntry = z.output<typeof auditEntrySchema>;
export type AuditPage = z.output<typeof auditResponseSchema>;
export type BudgetChange = z.output<typeof budgetChangeResponseSchema>;
export type PauseChange = z.output<typeof pauseResponseSchema>;
export type AlertItem = z.output<typeof alertItemSchema>;
