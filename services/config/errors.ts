// A configuration error names the setting, where its value came from and what was wrong with it, so the
// user knows which of the flag, the variable or the file to fix.
import type { ErrorCode } from '../../schemas/error-codes.ts';

export interface ConfigIssue {
  /** "flag --chunk-tokens", "environment RWKVSTREAM_CHUNK_TOKENS", "config file ./rw.json", "default". */
  source: string;
  /** Dotted setting path (chunkTokens, summary.maxTokens); empty for the file as a whole. */
  path: string;
  message: string;
}

export function formatIssue(issue: ConfigIssue): string {
  return issue.path ? `${issue.source}: ${issue.path}: ${issue.message}` : `${issue.source}: ${issue.message}`;
}

export class ConfigError extends Error {
  readonly code = 'E_CONFIG' satisfies ErrorCode;
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(
      issues.length === 1
        ? formatIssue(issues[0]!)
        : `invalid configuration:\n  ${issues.map(formatIssue).join('\n  ')}`,
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
