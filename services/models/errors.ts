// Errors of model resolution and downloads. `code` is what the CLI prints and scripts branch on; `retriable`
// tells the downloader whether trying again (resuming) can help.
export type ModelsErrorCode =
  | 'E_MODEL_UNKNOWN'
  | 'E_MODEL_NOT_FOUND'
  | 'E_VOCAB_NOT_FOUND'
  | 'E_HF_API'
  | 'E_DOWNLOAD'
  | 'E_DOWNLOAD_NOT_FOUND'
  | 'E_DOWNLOAD_BUSY'
  | 'E_CHECKSUM';

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
