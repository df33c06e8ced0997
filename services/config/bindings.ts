// Every setting in one table: its dotted path in the configuration, the flag and the environment variable
// that set it, the default the README states, and the commands that read it. The flag and variable maps,
// the flags each command offers and the README's settings table all come from here, so adding a setting is
// one entry (and a field in schemas/app-config.ts).
//
// Flags and environment variables arrive as strings; they are converted only when the text is a clean number
// or boolean, so anything else reaches validation as written and the error can quote it.
import { cell, codeCell, markdownTable } from '../readme-table.ts';

/** How the text of a flag or variable becomes a value. */
export type ValueKind = 'string' | 'int' | 'number' | 'boolean' | 'list' | 'port';

/** The commands that read settings. */
export const COMMANDS = ['summarize', 'classify', 'scan', 'doctor', 'models', 'worker', 'submit', 'send-events', 'result', 'status'] as const;
export type CommandName = (typeof COMMANDS)[number];

export interface Setting {
  /** Dotted path in the configuration (and the key in a config file). */
  path: string;
  kind: ValueKind;
  /** commander syntax: "--chunk-tokens <n>". */
  flag?: string;
  env?: string;
  /** The flag may be given several times; the values form a list. */
  repeatable?: boolean;
  description: string;
  /** The default as the README states it. */
  default: string;
  /** Commands that offer the flag (and read the setting). */
  commands: readonly CommandName[];
  /**
   * A secret (a password): read from the environment only, never a flag (flags show in `ps`) nor a config
   * file's text (a config file names a file holding it), and never shown in messages.
   */
  secret?: boolean;
}

export interface Binding {
  /** Dotted setting path. */
  path: string;
  kind: ValueKind;
}

export interface FlagBinding extends Binding {
  /** commander syntax. */
  flag: string;
  description: string;
  repeatable?: boolean;
}

const MODEL_COMMANDS = ['summarize', 'classify', 'scan', 'doctor', 'worker'] as const;
const CACHE_COMMANDS = [...MODEL_COMMANDS, 'models'] as const;
const DOCUMENT_COMMANDS = ['summarize', 'classify', 'worker'] as const;
const REDIS_COMMANDS = ['doctor', 'worker', 'submit', 'result', 'status'] as const;
const KAFKA_COMMANDS = ['doctor', 'worker', 'submit', 'send-events'] as const;
// The embedded commands read the log variables too (their default level is warn); only a worker has the flags.
const LOG_COMMANDS = ['worker'] as const;

export const SETTINGS: readonly Setting[] = [
  // The model and the engine.
  { path: 'model', kind: 'string', flag: '--model <file|name>', env: 'RWKVSTREAM_MODEL', description: 'model file, or a shipped/catalog/cached model name (log, g1-0.1b)', default: 'scan: the shipped log model; else the cached default model, else a download of g1-0.1b', commands: MODEL_COMMANDS },
  { path: 'vocab', kind: 'string', flag: '--vocab <file>', env: 'RWKVSTREAM_VOCAB', description: 'World vocabulary file, "bytes", "20b" or a tokenizers .json', default: 'bytes for 256-id models, 20b for 50277-id models, else the cached World vocabulary', commands: MODEL_COMMANDS },
  { path: 'weights', kind: 'string', flag: '--weights <type>', env: 'RWKVSTREAM_WEIGHTS', description: 'weights in memory: f32, bf16, f16 or int8 (one scale per output row)', default: 'f32', commands: MODEL_COMMANDS },
  { path: 'promptFormat', kind: 'string', flag: '--prompt-format <name>', env: 'RWKVSTREAM_PROMPT_FORMAT', description: 'how a document is written for the model: raw, world, rwkv7-g or raven', default: 'the model\'s own format (catalog or official file name), else raw', commands: ['summarize', 'classify', 'submit'] },
  { path: 'threads', kind: 'int', flag: '--threads <n>', env: 'RWKVSTREAM_THREADS', description: 'CPU threads (0: all)', default: '0', commands: MODEL_COMMANDS },
  { path: 'device', kind: 'string', flag: '--device <name>', env: 'RWKVSTREAM_DEVICE', description: 'cpu, cuda or auto', default: 'cpu', commands: MODEL_COMMANDS },
  { path: 'offline', kind: 'boolean', flag: '--offline', env: 'RWKVSTREAM_OFFLINE', description: 'never download; use only given or cached files', default: 'false', commands: MODEL_COMMANDS },
  { path: 'addon', kind: 'string', env: 'RWKVSTREAM_ADDON', description: 'the compiled native engine to load (rwkv.node; e.g. a CUDA build kept elsewhere)', default: 'native/build/rwkv.node of the package', commands: MODEL_COMMANDS },
  { path: 'home', kind: 'string', env: 'RWKVSTREAM_HOME', description: 'cache of downloaded models and vocabularies', default: '$XDG_CACHE_HOME/rwkvstream, else ~/.cache/rwkvstream', commands: CACHE_COMMANDS },
  { path: 'hfEndpoint', kind: 'string', env: 'RWKVSTREAM_HF_ENDPOINT', description: 'Hugging Face endpoint or mirror models are downloaded from', default: 'https://huggingface.co', commands: CACHE_COMMANDS },
  { path: 'vocabUrl', kind: 'string', env: 'RWKVSTREAM_VOCAB_URL', description: 'where the World vocabulary is downloaded from', default: 'the RWKV-LM repository on GitHub', commands: CACHE_COMMANDS },

  // Reading documents.
  { path: 'chunkTokens', kind: 'int', flag: '--chunk-tokens <n>', env: 'RWKVSTREAM_CHUNK_TOKENS', description: 'tokens per chunk (the checkpoint interval)', default: '4096', commands: DOCUMENT_COMMANDS },
  { path: 'maxDocumentTokens', kind: 'int', flag: '--max-document-tokens <n>', env: 'RWKVSTREAM_MAX_DOCUMENT_TOKENS', description: 'most tokens a document may have (refused while it is tokenized)', default: '16777216', commands: DOCUMENT_COMMANDS },
  { path: 'checkpointDir', kind: 'string', flag: '--checkpoint-dir <dir>', env: 'RWKVSTREAM_CHECKPOINT_DIR', description: 'directory of the embedded mode\'s state checkpoints', default: '<home>/checkpoints', commands: ['summarize', 'classify', 'scan'] },
  { path: 'summary.maxTokens', kind: 'int', env: 'RWKVSTREAM_MAX_TOKENS', description: 'most tokens a summary generates', default: '200', commands: ['summarize'] },
  { path: 'summary.temperature', kind: 'number', env: 'RWKVSTREAM_TEMPERATURE', description: 'summary sampling temperature (0: greedy)', default: '0', commands: ['summarize'] },

  // The services of the distributed mode.
  { path: 'redisUrl', kind: 'string', flag: '--redis <url>', env: 'REDIS_URL', description: 'Redis URL (redis://host:port, rediss:// for TLS)', default: 'none: required by worker, result and status (and submit without Kafka)', commands: REDIS_COMMANDS },
  { path: 'kafkaBrokers', kind: 'list', flag: '--kafka <brokers>', env: 'KAFKA_BROKERS', description: 'Kafka bootstrap brokers, comma-separated host:port', default: 'none: required by send-events; without it documents go through the Redis inbox queue', commands: KAFKA_COMMANDS },
  { path: 'redis.username', kind: 'string', flag: '--redis-user <name>', env: 'REDIS_USERNAME', description: 'Redis ACL user', default: 'the URL\'s user, else default', commands: REDIS_COMMANDS },
  { path: 'redis.password', kind: 'string', env: 'REDIS_PASSWORD', secret: true, description: 'Redis password (environment only; a URL\'s password is taken from REDIS_URL, never from --redis)', default: 'the URL\'s password, else none', commands: REDIS_COMMANDS },
  { path: 'redis.passwordFile', kind: 'string', flag: '--redis-password-file <file>', env: 'REDIS_PASSWORD_FILE', description: 'file holding the Redis password', default: 'none', commands: REDIS_COMMANDS },
  { path: 'redis.tls.ca', kind: 'string', flag: '--redis-tls-ca <file>', env: 'REDIS_TLS_CA_FILE', description: 'PEM CA file Redis\'s certificate must chain to (TLS on)', default: 'the system\'s CAs when TLS is on (rediss://)', commands: REDIS_COMMANDS },
  { path: 'redis.tls.cert', kind: 'string', flag: '--redis-tls-cert <file>', env: 'REDIS_TLS_CERT_FILE', description: 'PEM client certificate for Redis (TLS on)', default: 'none', commands: REDIS_COMMANDS },
  { path: 'redis.tls.key', kind: 'string', flag: '--redis-tls-key <file>', env: 'REDIS_TLS_KEY_FILE', description: 'PEM private key of the Redis client certificate', default: 'none', commands: REDIS_COMMANDS },
  { path: 'redis.tls.serverName', kind: 'string', flag: '--redis-tls-server-name <name>', env: 'REDIS_TLS_SERVER_NAME', description: 'name Redis\'s certificate must carry (TLS on)', default: 'the URL\'s host', commands: REDIS_COMMANDS },
  { path: 'redis.sentinels', kind: 'list', flag: '--redis-sentinels <hosts>', env: 'REDIS_SENTINELS', description: 'Redis Sentinels, comma-separated host:port (the URL then gives only user, password, database and TLS)', default: 'none', commands: REDIS_COMMANDS },
  { path: 'redis.sentinelName', kind: 'string', flag: '--redis-sentinel-name <name>', env: 'REDIS_SENTINEL_NAME', description: 'master name the Sentinels know', default: 'none: required with sentinels', commands: REDIS_COMMANDS },
  { path: 'redis.sentinelPassword', kind: 'string', env: 'REDIS_SENTINEL_PASSWORD', secret: true, description: 'password of the Sentinels (environment only)', default: 'none', commands: REDIS_COMMANDS },
  { path: 'redis.sentinelPasswordFile', kind: 'string', flag: '--redis-sentinel-password-file <file>', env: 'REDIS_SENTINEL_PASSWORD_FILE', description: 'file holding the Sentinels\' password', default: 'none', commands: REDIS_COMMANDS },
  { path: 'redis.cluster', kind: 'boolean', flag: '--redis-cluster', env: 'REDIS_CLUSTER', description: 'the URL is a node of a Redis Cluster (queues go under the hash tag {<prefix>})', default: 'false', commands: REDIS_COMMANDS },
  { path: 'kafka.tls.enabled', kind: 'boolean', flag: '--kafka-tls', env: 'KAFKA_TLS', description: 'TLS to the brokers (on by itself with a CA, certificate or server name)', default: 'false', commands: KAFKA_COMMANDS },
  { path: 'kafka.tls.ca', kind: 'string', flag: '--kafka-tls-ca <file>', env: 'KAFKA_TLS_CA_FILE', description: 'PEM CA file the brokers\' certificates must chain to', default: 'the system\'s CAs when TLS is on', commands: KAFKA_COMMANDS },
  { path: 'kafka.tls.cert', kind: 'string', flag: '--kafka-tls-cert <file>', env: 'KAFKA_TLS_CERT_FILE', description: 'PEM client certificate for the brokers', default: 'none', commands: KAFKA_COMMANDS },
  { path: 'kafka.tls.key', kind: 'string', flag: '--kafka-tls-key <file>', env: 'KAFKA_TLS_KEY_FILE', description: 'PEM private key of the Kafka client certificate', default: 'none', commands: KAFKA_COMMANDS },
  { path: 'kafka.tls.serverName', kind: 'string', flag: '--kafka-tls-server-name <name>', env: 'KAFKA_TLS_SERVER_NAME', description: 'name the brokers\' certificates must carry', default: 'each broker\'s host', commands: KAFKA_COMMANDS },
  { path: 'kafka.sasl.mechanism', kind: 'string', flag: '--kafka-sasl-mechanism <name>', env: 'KAFKA_SASL_MECHANISM', description: 'plain, scram-sha-256 or scram-sha-512', default: 'none: no SASL', commands: KAFKA_COMMANDS },
  { path: 'kafka.sasl.username', kind: 'string', flag: '--kafka-sasl-user <name>', env: 'KAFKA_SASL_USERNAME', description: 'SASL user name', default: 'none: required with a mechanism', commands: KAFKA_COMMANDS },
  { path: 'kafka.sasl.password', kind: 'string', env: 'KAFKA_SASL_PASSWORD', secret: true, description: 'SASL password (environment only)', default: 'none', commands: KAFKA_COMMANDS },
  { path: 'kafka.sasl.passwordFile', kind: 'string', flag: '--kafka-sasl-password-file <file>', env: 'KAFKA_SASL_PASSWORD_FILE', description: 'file holding the SASL password', default: 'none', commands: KAFKA_COMMANDS },
  { path: 'prefix', kind: 'string', flag: '--prefix <name>', env: 'RWKVSTREAM_PREFIX', description: 'namespace of the Redis keys and queues', default: 'rwkvstream', commands: ['worker', 'submit', 'result', 'status'] },
  { path: 'topicPrefix', kind: 'string', flag: '--topic-prefix <name>', env: 'RWKVSTREAM_TOPIC_PREFIX', description: 'topics are <prefix>.documents, .events, .results, .dead-letter', default: 'rwkvstream', commands: ['worker', 'submit', 'send-events'] },
  { path: 'topics.documents', kind: 'string', flag: '--topic-documents <topic>', env: 'RWKVSTREAM_TOPIC_DOCUMENTS', description: 'documents topic (overrides the topic prefix)', default: '<topic prefix>.documents', commands: ['worker', 'submit'] },
  { path: 'topics.events', kind: 'string', flag: '--topic-events <topic>', env: 'RWKVSTREAM_TOPIC_EVENTS', description: 'events topic', default: '<topic prefix>.events', commands: ['worker', 'submit', 'send-events'] },
  { path: 'topics.results', kind: 'string', flag: '--topic-results <topic>', env: 'RWKVSTREAM_TOPIC_RESULTS', description: 'results topic', default: '<topic prefix>.results', commands: ['worker', 'submit'] },
  { path: 'topics.deadLetter', kind: 'string', flag: '--topic-dead-letter <topic>', env: 'RWKVSTREAM_TOPIC_DEAD_LETTER', description: 'dead-letter topic', default: '<topic prefix>.dead-letter', commands: ['worker', 'submit'] },
  { path: 'partitions', kind: 'int', flag: '--partitions <n>', env: 'RWKVSTREAM_PARTITIONS', description: 'partitions of the topics a worker or submit creates', default: '3', commands: ['worker', 'submit'] },
  { path: 'maxMessageBytes', kind: 'int', flag: '--max-message-bytes <n>', env: 'RWKVSTREAM_MAX_MESSAGE_BYTES', description: 'largest input record sent (submit) or accepted (worker)', default: '1048576', commands: ['worker', 'submit'] },
  { path: 'partBytes', kind: 'int', flag: '--part-bytes <n>', env: 'RWKVSTREAM_PART_BYTES', description: 'document bytes per part of a large file', default: '262144', commands: ['submit'] },

  // A worker.
  { path: 'worker.name', kind: 'string', flag: '--name <name>', env: 'RWKVSTREAM_WORKER_NAME', description: 'worker name in logs, audit trails and status', default: 'host:pid', commands: ['worker'] },
  { path: 'worker.roles', kind: 'list', flag: '--roles <list>', env: 'RWKVSTREAM_ROLES', description: 'what runs here: ingest (Kafka consumer or Redis inbox, planning), chunks (model work)', default: 'ingest,chunks', commands: ['worker'] },
  { path: 'worker.concurrency', kind: 'int', flag: '--concurrency <n>', env: 'RWKVSTREAM_CONCURRENCY', description: 'chunk jobs at once in this process', default: '1', commands: ['worker'] },
  { path: 'worker.groupId', kind: 'string', flag: '--group-id <id>', env: 'RWKVSTREAM_GROUP_ID', description: 'Kafka consumer group', default: 'rwkvstream-ingest', commands: ['worker'] },
  { path: 'worker.lockMs', kind: 'int', flag: '--lock-ms <ms>', env: 'RWKVSTREAM_LOCK_MS', description: 'job lock: a job whose worker stops renewing it is taken over after this long', default: '60000', commands: ['worker'] },
  { path: 'worker.stalledMs', kind: 'int', flag: '--stalled-ms <ms>', env: 'RWKVSTREAM_STALLED_MS', description: 'how often to look for jobs whose lock expired', default: '30000', commands: ['worker'] },
  { path: 'worker.attempts', kind: 'int', flag: '--attempts <n>', env: 'RWKVSTREAM_ATTEMPTS', description: 'attempts per job before it fails for good', default: '5', commands: ['worker'] },
  { path: 'worker.backoffMs', kind: 'int', flag: '--backoff-ms <ms>', env: 'RWKVSTREAM_BACKOFF_MS', description: 'first retry delay (doubling)', default: '1000', commands: ['worker'] },
  { path: 'worker.streamHistoryBatches', kind: 'int', flag: '--stream-history <batches>', env: 'RWKVSTREAM_STREAM_HISTORY', description: 'batch results kept per event stream for result --stream (its recent history and --follow)', default: '1000', commands: ['worker'] },
  { path: 'worker.resultTtlSeconds', kind: 'int', flag: '--result-ttl <seconds>', env: 'RWKVSTREAM_RESULT_TTL', description: 'how long results and failure records stay readable by id', default: '604800 (7 days)', commands: ['worker'] },
  { path: 'worker.streamMaxLength', kind: 'int', flag: '--stream-max-length <n>', env: 'RWKVSTREAM_STREAM_MAX_LENGTH', description: 'without Kafka: entries kept in the Redis results and dead-letter streams', default: '100000', commands: ['worker'] },
  { path: 'worker.partTtlSeconds', kind: 'int', flag: '--part-ttl <seconds>', env: 'RWKVSTREAM_PART_TTL', description: 'parts of a document that never completes expire this long after the last one, with a failure record (E_PARTS_EXPIRED)', default: '86400 (1 day)', commands: ['worker'] },
  { path: 'worker.streamIdleTtlSeconds', kind: 'int', flag: '--stream-idle-ttl <seconds>', env: 'RWKVSTREAM_STREAM_IDLE_TTL', description: 'an event stream\'s events, state and last result expire after this long without events', default: '604800 (7 days)', commands: ['worker'] },
  { path: 'worker.maxStreams', kind: 'int', flag: '--max-streams <n>', env: 'RWKVSTREAM_MAX_STREAMS', description: 'live event streams at most; events of further new streams are dead-lettered (E_STREAM_LIMIT)', default: '100000', commands: ['worker'] },
  { path: 'worker.maxStreamEvents', kind: 'int', flag: '--max-stream-events <n>', env: 'RWKVSTREAM_MAX_STREAM_EVENTS', description: 'events waiting to be scored per stream at most; more are dead-lettered (E_STREAM_BACKLOG)', default: '100000', commands: ['worker'] },
  { path: 'worker.allowVolatileRedis', kind: 'boolean', flag: '--allow-volatile-redis', env: 'RWKVSTREAM_ALLOW_VOLATILE_REDIS', description: 'start against a Redis with neither AOF nor RDB snapshots (a restart loses queued work); for tests and throw-away set-ups', default: 'false: such a Redis is refused', commands: ['worker'] },
  { path: 'worker.connectAttempts', kind: 'int', flag: '--connect-attempts <n>', env: 'RWKVSTREAM_CONNECT_ATTEMPTS', description: 'tries to reach Redis and Kafka at start-up (waits 1, 2, 4 ... 15 s between), then exit 5', default: '6', commands: ['worker'] },
  { path: 'worker.segmentTokens', kind: 'int', flag: '--segment-tokens <n>', env: 'RWKVSTREAM_SEGMENT_TOKENS', description: 'token ids per stored Redis string of a planned document', default: '16777216', commands: ['worker'] },
  { path: 'worker.maxDocumentBytes', kind: 'int', flag: '--max-document-bytes <n>', env: 'RWKVSTREAM_MAX_DOCUMENT_BYTES', description: 'largest document accepted (parts or reference)', default: '4294967296', commands: ['worker'] },
  { path: 'worker.maxEventBytes', kind: 'int', flag: '--max-event-bytes <n>', env: 'RWKVSTREAM_MAX_EVENT_BYTES', description: 'largest event text accepted (worker) or sent (send-events skips longer lines)', default: '65536', commands: ['worker', 'send-events'] },
  { path: 'worker.fileRoots', kind: 'list', flag: '--file-root <dir>', env: 'RWKVSTREAM_FILE_ROOTS', repeatable: true, description: 'directory file:// references may read from (repeatable; the variable is comma-separated)', default: 'none: file references refused', commands: ['worker'] },
  { path: 'fetch.allow', kind: 'list', flag: '--fetch-allow <hosts>', env: 'RWKVSTREAM_FETCH_ALLOW', description: 'servers http(s) references may be read from, comma-separated HOST[:PORT]', default: 'none: http(s) references refused', commands: ['worker'] },
  { path: 'fetch.deadlineMs', kind: 'int', flag: '--fetch-deadline-ms <ms>', env: 'RWKVSTREAM_FETCH_DEADLINE_MS', description: 'a whole fetch (connecting, redirects, the body) ends within this long', default: '600000 (10 minutes)', commands: ['worker'] },
  { path: 'fetch.maxBytes', kind: 'int', flag: '--fetch-max-bytes <n>', env: 'RWKVSTREAM_FETCH_MAX_BYTES', description: 'bytes on the wire (before decompression) one fetch may read', default: '1073741824 (1 GiB)', commands: ['worker'] },
  { path: 'fetch.maxRedirects', kind: 'int', flag: '--fetch-max-redirects <n>', env: 'RWKVSTREAM_FETCH_MAX_REDIRECTS', description: 'redirects followed, each target checked as the first URL was', default: '5', commands: ['worker'] },
  { path: 'fetch.pool', kind: 'int', flag: '--fetch-pool <n>', env: 'RWKVSTREAM_FETCH_POOL', description: 'documents read by http(s) at once in one worker (a lane of their own)', default: '4', commands: ['worker'] },
  { path: 'limits.maxSections', kind: 'int', flag: '--max-sections <n>', env: 'RWKVSTREAM_MAX_SECTIONS', description: 'sections one document may be cut into (refused while it is tokenized: E_TOO_MANY_SECTIONS)', default: '100000', commands: ['worker'] },
  { path: 'limits.maxGeneratedTokens', kind: 'int', flag: '--max-generated-tokens <n>', env: 'RWKVSTREAM_MAX_GENERATED_TOKENS', description: 'tokens one document\'s answers may generate in all (summary, section summaries, reduce steps: E_TOO_MANY_GENERATED_TOKENS)', default: '1000000', commands: ['worker'] },
  { path: 'worker.batch.streams', kind: 'int', flag: '--batch-streams <n>', env: 'RWKVSTREAM_BATCH_STREAMS', description: 'jobs whose model calls share one batched forward (1: off)', default: '1', commands: ['worker'] },
  { path: 'worker.batch.waitMs', kind: 'number', flag: '--batch-wait-ms <ms>', env: 'RWKVSTREAM_BATCH_WAIT_MS', description: 'longest a ready model call waits for others to join its batch', default: '5', commands: ['worker'] },
  { path: 'worker.batch.tokens', kind: 'int', flag: '--batch-tokens <n>', env: 'RWKVSTREAM_BATCH_TOKENS', description: 'tokens per batched forward, all streams together', default: '16384', commands: ['worker'] },
  { path: 'worker.batch.sliceTokens', kind: 'int', flag: '--batch-slice-tokens <n>', env: 'RWKVSTREAM_BATCH_SLICE_TOKENS', description: 'tokens one job puts into a batch before the others get their turn', default: '1024', commands: ['worker'] },
  { path: 'metricsPort', kind: 'port', flag: '--metrics-port <port>', env: 'RWKVSTREAM_METRICS_PORT', description: 'port of /metrics, /healthz and /documents/ID ("off": none; 0: any free port)', default: '9464, or the next free port when busy', commands: ['worker'] },
  { path: 'metricsHost', kind: 'string', flag: '--metrics-host <host>', env: 'RWKVSTREAM_METRICS_HOST', description: 'address the metrics endpoint listens on', default: '127.0.0.1', commands: ['worker'] },

  // Event streams.
  { path: 'anomaly.threshold', kind: 'number', flag: '--anomaly-threshold <auto|nats>', env: 'RWKVSTREAM_ANOMALY_THRESHOLD', description: 'auto: alert on each stream\'s own rare events; a number: surprise (mean nats per token) above which an event is an alert', default: 'auto', commands: ['worker'] },
  { path: 'anomaly.alertRate', kind: 'number', flag: '--alert-rate <fraction>', env: 'RWKVSTREAM_ALERT_RATE', description: 'with --anomaly-threshold auto: the share of a stream\'s events that are alerts', default: '0.01', commands: ['worker'] },
  { path: 'anomaly.warmupEvents', kind: 'int', flag: '--warmup-events <n>', env: 'RWKVSTREAM_WARMUP_EVENTS', description: 'with --anomaly-threshold auto: events a stream has before any can be an alert', default: '100', commands: ['worker'] },
  { path: 'anomaly.eventText', kind: 'int', flag: '--event-text <chars>', env: 'RWKVSTREAM_EVENT_TEXT', description: 'characters of an event\'s text its score carries (longer text is cut, and marked so; 0: none)', default: '256', commands: ['worker'] },
  { path: 'anomaly.batchEvents', kind: 'int', flag: '--batch-events <n>', env: 'RWKVSTREAM_BATCH_EVENTS', description: 'events per anomaly batch', default: '64', commands: ['worker'] },
  { path: 'anomaly.batchMs', kind: 'int', flag: '--batch-ms <ms>', env: 'RWKVSTREAM_BATCH_MS', description: 'longest an event waits for its batch', default: '1000', commands: ['worker'] },
  { path: 'anomaly.separator', kind: 'string', flag: '--separator <text>', env: 'RWKVSTREAM_SEPARATOR', description: 'fed before each event (its logits predict the event\'s first token)', default: '"\\n"', commands: ['worker'] },
  { path: 'anomaly.windowEvents', kind: 'int', flag: '--window-events <n>', env: 'RWKVSTREAM_WINDOW_EVENTS', description: 'events per window summary of each stream (0: no windows)', default: '0', commands: ['worker'] },
  { path: 'anomaly.topEvents', kind: 'int', flag: '--top-events <n>', env: 'RWKVSTREAM_TOP_EVENTS', description: 'most surprising events listed in each window summary', default: '5', commands: ['worker'] },

  // Logs.
  { path: 'logLevel', kind: 'string', flag: '--log-level <level>', env: 'RWKVSTREAM_LOG_LEVEL', description: 'fatal, error, warn, info, debug, trace or silent', default: 'info (worker), warn (summarize, classify, scan)', commands: LOG_COMMANDS },
  { path: 'logFormat', kind: 'string', flag: '--log-format <format>', env: 'RWKVSTREAM_LOG_FORMAT', description: 'pretty (one readable line per entry), json, or auto: pretty on a terminal, else json', default: 'auto', commands: LOG_COMMANDS },
];

/** The long name of a flag: "--chunk-tokens <n>" -> "--chunk-tokens". */
export const flagName = (flag: string): string => flag.split(' ')[0]!;

/** commander's property name of a flag: "--chunk-tokens <n>" -> "chunkTokens". */
export function flagProperty(flag: string): string {
  return flagName(flag).replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The dotted paths of the secret settings. */
export const SECRET_PATHS: readonly string[] = SETTINGS.filter((s) => s.secret).map((s) => s.path);

export const ENV_BINDINGS: Readonly<Record<string, Binding>> = Object.fromEntries(
  SETTINGS.filter((s) => s.env !== undefined).map((s) => [s.env!, { path: s.path, kind: s.kind }]),
);

/** commander's property name of a configuration flag (chunkTokens for --chunk-tokens). */
export type ConfigFlagName = string;

/** Keyed by commander's property name of the option (--chunk-tokens -> chunkTokens). */
export const FLAG_BINDINGS: Readonly<Record<string, FlagBinding>> = Object.fromEntries(
  SETTINGS.filter((s) => s.flag !== undefined).map((s) => [
    flagProperty(s.flag!),
    { flag: s.flag!, path: s.path, kind: s.kind, description: `${s.description} (default: ${s.default})`, ...(s.repeatable ? { repeatable: true } : {}) },
  ]),
);

/** The settings whose flags a command offers. */
export function settingsOf(command: CommandName): Setting[] {
  return SETTINGS.filter((s) => s.flag !== undefined && s.commands.includes(command));
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

/** The value a flag or variable stands for; text that does not fit its kind is passed on unchanged. */
export function convert(raw: string | boolean | string[], kind: ValueKind): unknown {
  if (typeof raw === 'boolean') return raw;
  if (Array.isArray(raw)) return raw.flatMap((r) => convert(r, 'list') as string[]);
  const text = raw.trim();
  switch (kind) {
    case 'string':
      return raw;
    case 'int':
      return INTEGER.test(text) ? Number(text) : raw;
    case 'number':
      return NUMBER.test(text) ? Number(text) : raw;
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(text)) return true;
      if (/^(0|false|no|off)$/i.test(text)) return false;
      return raw;
    case 'list':
      return text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    case 'port':
      if (/^(off|none|null)$/i.test(text)) return null;
      return INTEGER.test(text) ? Number(text) : raw;
  }
}

/** The README's table of settings (kept in the README; a test checks it matches). */
export function settingsTable(): string {
  return markdownTable(['setting (config key)', 'flag', 'environment', 'default', 'commands'], [
    ['(config file)', '`--config <file>`', '`RWKVSTREAM_CONFIG`', 'none', 'all of these'],
    ...SETTINGS.map((s) => [codeCell(s.path), s.secret ? 'none (a secret)' : codeCell(s.flag), codeCell(s.env), cell(s.default), s.commands.join(', ')]),
  ]);
}
