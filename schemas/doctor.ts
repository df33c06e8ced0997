// `rwkvstream doctor --json`: one entry per check, each with a status and, when not ok, a fix to try.
import { z } from 'zod';

/** skip: the check could not run (not configured, or a check it depends on failed). */
export const CheckStatusSchema = z.enum(['ok', 'warn', 'fail', 'skip']);

export const CheckResultSchema = z.strictObject({
  name: z.string().min(1),
  status: CheckStatusSchema,
  message: z.string(),
  /** One line to try; present for warn and fail. */
  fix: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export const DoctorReportSchema = z.strictObject({
  /** false when any check failed (warnings do not count). */
  ok: z.boolean(),
  checks: z.array(CheckResultSchema),
});

export type CheckStatus = z.infer<typeof CheckStatusSchema>;
export type CheckResult = z.infer<typeof CheckResultSchema>;
export type DoctorReport = z.infer<typeof DoctorReportSchema>;
