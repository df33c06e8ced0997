// Errors of model resolution and downloads. `code` is what the CLI prints and scripts branch on; `retriable`
// tells the downloader whether trying again (resuming) can help.
import type { ErrorCode } from '../../schemas/error-codes.ts';

/** The codes of models errors are the catalogue's (schemas/error-codes.ts). */
export type ModelsErrorCode = ErrorCode;

export class ModelsError extends Error {
  readonly code: ModelsErrorCode;
  readonly retriable: boolean;

  constructor(code: ModelsErrorCode, message: string, options?: { cause?: unknown; retriable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ModelsError';
    this.code = code;
    this.retriable = options?.retriable ?? false;
  }
}
