// Every error code the product raises, defined here once: what it means and what the user does next. Error
// classes take an ErrorCode, so a misspelt code does not compile; test/operate/error-codes.test.ts checks that
// the sources raise no code missing here, that no code here is unused, that the native engine's codes
// (native/include/rwkv/error.h) are exactly the ones marked `native`, and that the README lists them all.
// Loaded by every command at start (error reporting reads it), so it imports nothing: the zod schemas of these
// entries and codes are in error-code-schemas.ts, which checks that its schema and this type agree.

export interface ErrorCodeInfo {
  /** What went wrong, in one sentence. */
  readonly meaning: string;
  /** What the user does next. */
  readonly hint: string;
  /**
   * Whether trying the same work again can help, where the error carrying the code says so (a worker retries
   * such failures, the downloader resumes): `by cause` when it depends on the cause (an HTTP status, a network
   * error). Absent for codes whose errors carry no such notion (a command's usage, a service at start).
   */
  readonly retriable?: boolean | 'by cause';
  /** Raised by the native engine: the code is one of native/include/rwkv/error.h. */
  readonly native?: true;
  /** The exit status of a command that stops on it, where it is not the general failure (README, "Exit codes"). */
  readonly exit?: 'usage' | 'unreachable';
}

const RESUBMIT = "submit the document again; if it happens again, report it with the worker's log";

export const ERROR_CODES = {
  // The native engine (native/include/rwkv/error.h) and the engine API over it.
  E_IO: {
    meaning: 'a file cannot be opened, read or written',
    hint: 'check the path and the file permissions',
    retriable: true,
    native: true,
  },
  E_MODEL_FORMAT: {
    meaning: 'the file is not a model container rwkvstream reads',
    hint: 'give a .pth, .safetensors or rwkv.cpp .bin model file',
    retriable: false,
    native: true,
  },
  E_MODEL_TRUNCATED: {
    meaning: 'the model file is cut short',
    hint: 'the file is incomplete: download it again',
    retriable: false,
    native: true,
  },
  E_MODEL_LEGACY_PICKLE: {
    meaning: 'the checkpoint was saved by a torch.save older than 1.6 (no zip container)',
    hint: 're-save the checkpoint with a current torch.save',
    retriable: false,
    native: true,
  },
  E_MODEL_DTYPE: {
    meaning: 'a tensor has a data type the engine does not accept',
    hint: 'use an fp32, fp16 or bf16 checkpoint',
    retriable: false,
    native: true,
  },
  E_MODEL_VERSION: {
    meaning: 'the model is of an RWKV version (or variant) that is not supported',
    hint: 'use a version the README lists under "Models": rwkvstream models list',
    retriable: false,
    native: true,
  },
  E_MODEL_SHAPE: {
    meaning: 'a tensor is missing or the shapes do not fit together',
    hint: 'the checkpoint is damaged or not a standard RWKV model: download it again',
    retriable: false,
    native: true,
  },
  E_MODEL_LIMIT: {
    meaning: 'the file would cost far more memory than its size allows (4 × the file + 16 MiB)',
    hint: 'the file is damaged or crafted: use an official checkpoint',
    retriable: false,
    native: true,
  },
  E_TOKENIZER: {
    meaning: 'the vocabulary or tokenizer file is malformed',
    hint: 'give the World vocabulary (rwkvstream models pull vocab) or a valid tokenizer file',
    retriable: false,
    native: true,
  },
  E_TOKENIZER_MISMATCH: {
    meaning:
      'the tokenizer does not fit the model (vocabulary size), or the document was tokenized with another tokenizer',
    hint: 'use the tokenizer the model was trained with',
    retriable: false,
    native: true,
  },
  E_TOKEN: {
    meaning: 'a token id is outside the vocabulary',
    hint: 'give token ids below the vocabulary size of the model',
    retriable: false,
    native: true,
  },
  E_STATE: {
    meaning: 'a state blob is corrupt (checksum, size or header)',
    hint: 'discard the state and start from the beginning',
    retriable: false,
    native: true,
  },
  E_STATE_MISMATCH: {
    meaning: 'a state blob belongs to another model or tokenizer',
    hint: 'use states made with the same model and tokenizer',
    retriable: false,
    native: true,
  },
  E_ARGUMENT: {
    meaning: 'an engine call got a bad argument (a disposed model, a state of the wrong size, no tokens)',
    hint: 'fix the calling code: the message names the argument',
    retriable: false,
    native: true,
  },
  E_DEVICE: {
    meaning: 'the device failed or refuses the work (a CUDA error, or a model the GPU does not run)',
    hint: 'use --device auto or cpu, or check the GPU with rwkvstream doctor',
    retriable: true,
    native: true,
  },
  E_NO_DEVICE: {
    meaning: 'no usable CUDA device (none, or no driver)',
    hint: 'use --device cpu, or install the NVIDIA driver',
    retriable: false,
    native: true,
  },
  E_CUDA_DRIVER: {
    meaning: 'the NVIDIA driver is older than the engine was built for',
    hint: 'update the NVIDIA driver, or use --device cpu',
    retriable: false,
    native: true,
  },
  E_SLOT: {
    meaning: 'a resident state slot is not held, was released, is used twice in one call or belongs to another model',
    hint: 'fix the calling code: acquire a slot per state and release it once',
    retriable: false,
    native: true,
  },
  E_DEVICE_MEMORY: {
    meaning: 'device memory is exhausted (the request and the free and total memory are in the message)',
    hint: 'use a smaller model, fewer concurrent streams or batch slices, or --device cpu',
    retriable: true,
    native: true,
  },
  E_INTERNAL: {
    meaning: 'an unexpected failure without a code of its own',
    hint: 'report it with the message and the log',
    retriable: true,
    native: true,
  },
  E_ADDON_MISSING: { meaning: 'the native engine is not built', hint: 'run: npm run build:native', retriable: false },

  // Models: the catalog, downloads and the cache.
  E_MODEL_UNKNOWN: {
    meaning: 'the name is not a model of the catalog, "vocab" or OWNER/REPO:FILE',
    hint: 'pick a name from rwkvstream models list',
    retriable: false,
  },
  E_MODEL_NOT_FOUND: {
    meaning: 'no model file at the path given, in the cache or in the repository',
    hint: 'check the path, or download it: rwkvstream models pull NAME',
    retriable: false,
  },
  E_VOCAB_NOT_FOUND: {
    meaning: 'the World vocabulary is not where it was looked for',
    hint: 'download it: rwkvstream models pull vocab, or give --vocab',
    retriable: false,
  },
  E_HF_API: {
    meaning: "the model repository's listing cannot be read (network, HTTP status or an unexpected answer)",
    hint: 'check the network, the proxy and the Hugging Face endpoint, then run the command again',
    retriable: 'by cause',
  },
  E_DOWNLOAD: {
    meaning: 'a download failed (network, proxy, HTTP status, a size that does not match, a full disk)',
    hint: 'fix the cause the message names and run the command again: the download resumes',
    retriable: 'by cause',
  },
  E_DOWNLOAD_NOT_FOUND: {
    meaning: 'the server has no such file (HTTP 404)',
    hint: 'check the model name or OWNER/REPO:FILE',
    retriable: false,
  },
  E_DOWNLOAD_BUSY: {
    meaning: 'another process is downloading the same file',
    hint: 'wait for it to finish, or delete the lock file the message names if no such download runs',
    retriable: false,
  },
  E_CHECKSUM: {
    meaning: "the downloaded file does not match the repository's checksum (it was deleted)",
    hint: 'run the command again; the same mismatch again means the server sends other bytes than the repository lists',
    retriable: false,
  },

  // Records and documents taken in.
  E_NO_VALUE: { meaning: 'a record without a value', hint: "send the message as the record's value", retriable: false },
  E_OVERSIZED: {
    meaning: 'a record or an event text is larger than the limit',
    hint: 'split the document into parts, or raise --max-message-bytes / --max-event-bytes',
    retriable: false,
  },
  E_ENCODING: {
    meaning: 'a record or a document body is not valid UTF-8 (the message names the offset)',
    hint: 'send UTF-8 text',
    retriable: false,
  },
  E_JSON: {
    meaning: 'a record value is not JSON',
    hint: 'send a JSON message of the documented schema (docs/pipeline.md)',
    retriable: false,
  },
  E_SCHEMA: {
    meaning: 'a message does not match its schema (the message names the field)',
    hint: 'fix the field named in the message (docs/pipeline.md)',
    retriable: false,
  },
  E_KEY_MISMATCH: {
    meaning: 'the record key is not the id in the message',
    hint: 'key each record by the id of its document or stream',
    retriable: false,
  },
  E_EMPTY_DOCUMENT: {
    meaning: 'the document is empty or only whitespace',
    hint: 'send a document with text',
    retriable: false,
  },
  E_TOO_MANY_PARTS: {
    meaning: 'a part index is beyond the most parts a document may have',
    hint: 'send the document in fewer, larger parts',
    retriable: false,
  },
  E_PART_CONFLICT: {
    meaning: 'a part contradicts the parts taken in before (another final part, a part beyond the final one)',
    hint: 'send each part of a document once, with one final part',
    retriable: false,
  },
  E_PART_MISSING: {
    meaning: 'a part of the document is gone (it expired before the document was complete)',
    hint: 'send the whole document again',
    retriable: false,
  },
  E_PARTS_EXPIRED: {
    meaning: 'parts of a document arrived, but not all of them within the part TTL; they were dropped',
    hint: 'send the whole document again, with its final part',
  },
  E_DUPLICATE_ID: {
    meaning: 'the document id is already taken by a document with other content or another task',
    hint: 'submit under a new id',
    retriable: false,
  },
  E_TOO_LARGE: {
    meaning: 'the document is larger than the byte or token limit (or a fetched body than fetch.maxBytes)',
    hint: 'split the document, or raise --max-document-bytes, --max-document-tokens or fetch.maxBytes',
    retriable: false,
  },
  E_TOO_MANY_SECTIONS: {
    meaning: 'the document would be cut into more sections than the limit',
    hint: 'use larger sections, or raise --max-sections',
    retriable: false,
  },
  E_TOO_MANY_GENERATED_TOKENS: {
    meaning: 'the task would generate more tokens than the limit',
    hint: 'ask for shorter answers or fewer sections, or raise --max-generated-tokens',
    retriable: false,
  },
  E_TOKENS_EXPIRED: {
    meaning: "the document's token ids expired before planning ended",
    hint: RESUBMIT,
    retriable: false,
  },
  E_TOKENS_MISSING: {
    meaning: 'token ids of a planned document are missing from the store',
    hint: RESUBMIT,
    retriable: false,
  },
  E_STREAM_LIMIT: {
    meaning: 'an event of a new stream beyond the most live event streams',
    hint: 'raise --max-streams, or let idle streams expire (--stream-idle-ttl)',
    retriable: false,
  },
  E_STREAM_BACKLOG: {
    meaning: 'a stream holds the most events waiting to be scored',
    hint: 'add workers or raise --max-stream-events',
    retriable: false,
  },

  // References (file:// and http(s):// bodies).
  E_REF: {
    meaning: 'the reference is not a usable file://, http:// or https:// URL (or carries credentials)',
    hint: 'give a plain file://, http:// or https:// URL',
    retriable: false,
  },
  E_REF_FORBIDDEN: {
    meaning: 'the reference is outside what this worker may read (the file roots, the fetch allow list)',
    hint: 'start the worker with --file-root DIR or --fetch-allow HOST[:PORT], or send the body inline',
    retriable: false,
  },
  E_REF_NOT_FOUND: {
    meaning: 'the referenced file does not exist, is a directory or may not be read',
    hint: "check the path and its permissions on the worker's machine",
    retriable: false,
  },
  E_REF_READ: {
    meaning: 'reading the referenced body failed or stalled',
    hint: 'retried by the worker; check the disk or the server if it persists',
    retriable: true,
  },
  E_REF_UNREACHABLE: {
    meaning: 'the referenced server cannot be reached (name or connection)',
    hint: 'retried by the worker; check the address and the network',
    retriable: true,
  },
  E_REF_STATUS: {
    meaning: 'the server answered with an error status, or with too many or bad redirects',
    hint: 'check the URL; 5xx and 429 answers are retried',
    retriable: 'by cause',
  },
  E_REF_TIMEOUT: {
    meaning: 'the server did not deliver the body within the fetch deadline',
    hint: 'check the server, or raise fetch.deadlineMs',
    retriable: false,
  },
  E_REF_ENCODING: {
    meaning: 'the body came with a content encoding the worker does not read, or not valid in it',
    hint: 'serve the body plain or as gzip, deflate or br',
    retriable: false,
  },

  // The pipeline's stored work and invariants.
  E_CHECKPOINT_BUSY: {
    meaning: 'a checkpoint kept changing while it was read',
    hint: 'retried by the worker',
    retriable: true,
  },
  E_CHECKPOINT_REGRESSED: {
    meaning:
      'a checkpoint went back to an older version (Redis lost writes: a restart without persistence, a failover)',
    hint: 'turn on Redis persistence (AOF), then submit the document again',
    retriable: false,
  },
  E_CHECKPOINT_GAP: {
    meaning: 'a chunk does not follow the checkpoint it should continue',
    hint: RESUBMIT,
    retriable: false,
  },
  E_CHECKPOINT_TOKENS: {
    meaning: 'the checkpoint has read another number of tokens than the chunk starts at',
    hint: RESUBMIT,
    retriable: false,
  },
  E_BLOB_EXPIRED: { meaning: 'a state blob expired before its commit', hint: 'retried by the worker', retriable: true },
  E_OUTBOX: {
    meaning: "the checkpoint's outbox of section results is not what was written",
    hint: RESUBMIT,
    retriable: false,
  },
  E_SECTION_LAYOUT: {
    meaning: 'the sections of a document are out of order, or its task has none',
    hint: RESUBMIT,
    retriable: false,
  },
  E_SECTION_MISSING: {
    meaning: 'a section result is missing from the result store when the document is finished',
    hint: RESUBMIT,
    retriable: false,
  },
  E_SECTION_INVALID: {
    meaning: "a stored section result is not a result of the document's task",
    hint: RESUBMIT,
    retriable: false,
  },
  E_SECTION_LABELS: {
    meaning: 'a section result has no score for a label of the task',
    hint: RESUBMIT,
    retriable: false,
  },
  E_REDUCE_EMPTY: { meaning: 'reducing the sections found none to reduce', hint: RESUBMIT, retriable: false },
  E_THRESHOLD_STATE: {
    meaning: "the stream's stored anomaly threshold state cannot be read",
    hint: "start the stream under a new id; report it with the worker's log",
    retriable: false,
  },
  E_WINDOW_STATE: {
    meaning: "the stream's stored open window cannot be read",
    hint: "start the stream under a new id; report it with the worker's log",
    retriable: false,
  },
  E_WINDOW_ORDER: {
    meaning: 'events reached a window out of order',
    hint: "report it with the worker's log",
    retriable: false,
  },
  E_WINDOW_SETTINGS: {
    meaning: 'the window setting is not a positive integer',
    hint: 'give --window-events a positive integer',
    retriable: false,
  },
  E_REDIS_OOM: {
    meaning: 'Redis is at its maxmemory and refuses writes (never retried: retries only add writes)',
    hint: 'give Redis more memory (maxmemory) or run fewer documents at once',
    retriable: false,
  },
  E_JOB_PAYLOAD: {
    meaning: 'a queued job has a payload this version cannot read',
    hint: 'run workers of one version on a queue; drain the queue before upgrading',
    retriable: false,
  },
  E_STALLED: {
    meaning: 'the job stalled too often: the workers running it kept dying',
    hint: "check the workers' memory and logs (killed by the OS?), then submit the document again",
  },
  E_UNSETTLED: {
    meaning: 'the command stopped before it finished: a pending connection or request neither answered nor failed',
    hint: 'run it again; if it repeats, report it with the command and its log',
  },

  // The embedded mode: inputs and the checkpoint directory.
  E_INPUT: {
    meaning: 'the input file cannot be read or is not a file',
    hint: 'check the path and its permissions',
    retriable: false,
  },
  E_INPUT_CHANGED: {
    meaning: 'the input changed while it was being read',
    hint: 'run the command again',
    retriable: false,
  },
  E_JOB_BUSY: {
    meaning: "another process holds the job's lock",
    hint: 'wait for it to finish or stop it; if that process is gone, delete the lock file the message names',
    retriable: false,
  },
  E_JOB_FAILED: {
    meaning: 'the job failed in an earlier run (the reason is in the message)',
    hint: 'fix the cause and run the command with --restart',
    retriable: false,
  },
  E_NO_RESULT: { meaning: 'the job ended without a result', hint: 'run it again with --restart', retriable: false },
  E_CHECKPOINT_WRITE: {
    meaning: 'a checkpoint file cannot be written (a full disk, a read-only directory)',
    hint: 'the last good checkpoint is kept: fix this and run the same command again to resume',
    retriable: true,
  },
  E_CHECKPOINT_READ: {
    meaning: 'a checkpoint file cannot be read for another reason than its content',
    hint: 'the checkpoint is kept: fix this and run the same command again to resume',
    retriable: true,
  },
  E_CHECKPOINT_CORRUPT: {
    meaning: 'a checkpoint file is damaged',
    hint: "run the same command with --restart to discard this job's checkpoints and start over",
    retriable: false,
  },
  E_CHECKPOINT_DIR: {
    meaning: 'the checkpoint directory cannot be created or written in',
    hint: 'give a writable directory with --checkpoint-dir (or RWKVSTREAM_CHECKPOINT_DIR)',
    retriable: false,
  },

  // Commands, settings and services.
  E_USAGE: { meaning: 'a bad flag or argument', hint: "see the command's --help", exit: 'usage' },
  E_CONFIG: {
    meaning: 'a setting is invalid (the message names the flag, variable or file it came from)',
    hint: 'fix the setting where the message says it came from',
    exit: 'usage',
  },
  E_REDIS_UNREACHABLE: {
    meaning: 'Redis did not answer',
    hint: 'start Redis or fix the address (REDIS_URL / --redis); rwkvstream doctor checks it',
    exit: 'unreachable',
  },
  E_REDIS_REFUSED: {
    meaning: 'Redis refused the credentials or the TLS handshake',
    hint: 'check the Redis user, password and TLS CA against the server',
    exit: 'unreachable',
  },
  E_KAFKA_UNREACHABLE: {
    meaning: 'Kafka did not answer',
    hint: 'start Kafka or fix the brokers (KAFKA_BROKERS / --kafka); rwkvstream doctor checks them',
    exit: 'unreachable',
  },
  E_KAFKA_REFUSED: {
    meaning: 'Kafka refused the SASL credentials or the TLS handshake',
    hint: "check the SASL mechanism, user, password and TLS CA against the broker's listener",
    exit: 'unreachable',
  },
  E_REDIS_VOLATILE: {
    meaning: 'Redis keeps nothing across a restart (no AOF, no RDB snapshots)',
    hint: 'turn on AOF or RDB snapshots, or pass --allow-volatile-redis where losing queued work is acceptable',
  },
  E_TOPIC: {
    meaning: "the pipeline's Kafka topics do not exist and cannot be created",
    hint: 'start a worker first (it creates the topics), or create them on the broker',
  },
  E_METRICS_PORT: { meaning: 'the metrics port is taken', hint: 'choose another with --metrics-port, or off' },
} as const satisfies Record<`E_${string}`, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ERROR_CODE_NAMES = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/** The codes the catalogue marks with `retriable: R`. */
type CodesWhere<R> = { [C in ErrorCode]: (typeof ERROR_CODES)[C] extends { retriable: R } ? C : never }[ErrorCode];

/** Codes an error may carry when retrying cannot help, for every cause or some. */
export type PermanentCode = CodesWhere<false | 'by cause'>;

/** Codes an error may carry when retrying can help, for every cause or some. */
export type TransientCode = CodesWhere<true | 'by cause'>;

export function errorCodeInfo(code: ErrorCode): ErrorCodeInfo {
  return ERROR_CODES[code];
}

export const PERMANENT_CODES = ERROR_CODE_NAMES.filter((c) => {
  const retriable = errorCodeInfo(c).retriable;
  return retriable === false || retriable === 'by cause';
}) as [PermanentCode, ...PermanentCode[]];
