// How flags and environment variables map onto settings. Both arrive as strings; they are converted only
// when the text is a clean number or boolean, so anything else reaches validation as written and the error
// can quote it.

/** How the text of a flag or variable becomes a value. */
export type ValueKind = 'string' | 'int' | 'number' | 'boolean' | 'list' | 'port';

export interface Binding {
  /** Dotted setting path. */
  path: string;
  kind: ValueKind;
}

export interface FlagBinding extends Binding {
  /** commander syntax. */
  flag: string;
  description: string;
}

export const ENV_BINDINGS: Readonly<Record<string, Binding>> = {
  RWKVSTREAM_MODEL: { path: 'model', kind: 'string' },
  RWKVSTREAM_VOCAB: { path: 'vocab', kind: 'string' },
  RWKVSTREAM_WEIGHTS: { path: 'weights', kind: 'string' },
  RWKVSTREAM_PROMPT_FORMAT: { path: 'promptFormat', kind: 'string' },
  RWKVSTREAM_THREADS: { path: 'threads', kind: 'int' },
  RWKVSTREAM_DEVICE: { path: 'device', kind: 'string' },
  RWKVSTREAM_HOME: { path: 'home', kind: 'string' },
  RWKVSTREAM_HF_ENDPOINT: { path: 'hfEndpoint', kind: 'string' },
  RWKVSTREAM_VOCAB_URL: { path: 'vocabUrl', kind: 'string' },
  RWKVSTREAM_OFFLINE: { path: 'offline', kind: 'boolean' },
  REDIS_URL: { path: 'redisUrl', kind: 'string' },
  KAFKA_BROKERS: { path: 'kafkaBrokers', kind: 'list' },
  RWKVSTREAM_TOPIC_DOCUMENTS: { path: 'topics.documents', kind: 'string' },
  RWKVSTREAM_TOPIC_EVENTS: { path: 'topics.events', kind: 'string' },
  RWKVSTREAM_TOPIC_RESULTS: { path: 'topics.results', kind: 'string' },
  RWKVSTREAM_TOPIC_DEAD_LETTER: { path: 'topics.deadLetter', kind: 'string' },
  RWKVSTREAM_CHUNK_TOKENS: { path: 'chunkTokens', kind: 'int' },
  RWKVSTREAM_MAX_DOCUMENT_TOKENS: { path: 'maxDocumentTokens', kind: 'int' },
  RWKVSTREAM_CHECKPOINT_DIR: { path: 'checkpointDir', kind: 'string' },
  RWKVSTREAM_METRICS_PORT: { path: 'metricsPort', kind: 'port' },
  RWKVSTREAM_MAX_TOKENS: { path: 'summary.maxTokens', kind: 'int' },
  RWKVSTREAM_TEMPERATURE: { path: 'summary.temperature', kind: 'number' },
  RWKVSTREAM_ANOMALY_THRESHOLD: { path: 'anomaly.threshold', kind: 'number' },
  RWKVSTREAM_WINDOW_EVENTS: { path: 'anomaly.windowEvents', kind: 'int' },
  RWKVSTREAM_TOP_EVENTS: { path: 'anomaly.topEvents', kind: 'int' },
};

/** Keyed by commander's property name of the option (--chunk-tokens -> chunkTokens). */
export const FLAG_BINDINGS = {
  model: { flag: '--model <file|name>', path: 'model', kind: 'string', description: 'model file, or a catalog/cached model name (g1-0.1b)' },
  vocab: { flag: '--vocab <file>', path: 'vocab', kind: 'string', description: 'World vocabulary file, or "bytes"' },
  weights: { flag: '--weights <type>', path: 'weights', kind: 'string', description: 'weights in memory: f32, bf16, f16 or int8 (default f32)' },
  promptFormat: { flag: '--prompt-format <name>', path: 'promptFormat', kind: 'string', description: 'how the document is written for the model: raw, world, rwkv7-g or raven (default: from the model)' },
  threads: { flag: '--threads <n>', path: 'threads', kind: 'int', description: 'CPU threads (default 0: all)' },
  device: { flag: '--device <name>', path: 'device', kind: 'string', description: 'cpu, cuda or auto (default cpu)' },
  redis: { flag: '--redis <url>', path: 'redisUrl', kind: 'string', description: 'Redis URL (redis://host:port)' },
  kafka: { flag: '--kafka <brokers>', path: 'kafkaBrokers', kind: 'list', description: 'Kafka brokers, comma-separated host:port' },
  chunkTokens: { flag: '--chunk-tokens <n>', path: 'chunkTokens', kind: 'int', description: 'tokens per chunk (default 4096)' },
  maxDocumentTokens: { flag: '--max-document-tokens <n>', path: 'maxDocumentTokens', kind: 'int', description: 'most tokens a document may have (default 16777216)' },
  checkpointDir: { flag: '--checkpoint-dir <dir>', path: 'checkpointDir', kind: 'string', description: 'directory of state checkpoints' },
  metricsPort: { flag: '--metrics-port <port>', path: 'metricsPort', kind: 'port', description: 'metrics port ("off": none)' },
  offline: { flag: '--offline', path: 'offline', kind: 'boolean', description: 'never download; use only given or cached files' },
} as const satisfies Record<string, FlagBinding>;

export type ConfigFlagName = keyof typeof FLAG_BINDINGS;

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

/** The value a flag or variable stands for; text that does not fit its kind is passed on unchanged. */
export function convert(raw: string | boolean, kind: ValueKind): unknown {
  if (typeof raw === 'boolean') return raw;
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
