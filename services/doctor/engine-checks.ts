// Checks of the engine side: the addon loads (and what the machine offers it), the model file is a model (its
// header and parameter table, read without loading it), the tokenizer belongs to the model, and — only then is
// the model loaded — a multilingual canary survives encode/decode byte for byte and gives finite logits. Each
// failure carries the fix a user would try first.
import type { AppConfig } from '../../schemas/app-config.ts';
import type { CheckResult } from '../../schemas/doctor.ts';
import type { Capabilities, ModelFileInfo } from '../../schemas/engine.ts';
import type { ErrorCode } from '../../schemas/error-codes.ts';
import { capabilities, EngineError, inspectModel, Model, Tokenizer } from '../../engine/index.ts';
import { DEFAULT_MODEL_NAME, WORLD_VOCAB } from '../models/catalog.ts';
import { resolveModel, resolveVocab } from '../models/resolve.ts';

/** Latin with diacritics, CJK, Cyrillic, an emoji (4-byte UTF-8) and a newline. */
export const CANARY = 'Hello, world! Grüße aus Köln. 你好，世界。Привет, мир! 🦆\n';

const yesNo = (b: boolean): string => (b ? 'yes' : 'no');
const codeOf = (err: unknown): string | undefined => (err as { code?: unknown })?.code as string | undefined;
const messageOf = (err: unknown): string => {
  const code = codeOf(err);
  const text = err instanceof Error ? err.message : String(err);
  return code ? `${code}: ${text}` : text;
};

const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
const cudaVersion = (v: number): string => `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}`;

/**
 * The GPU side in one line: each usable device with its memory and the driver, or "CUDA unavailable" and why
 * (a build without CUDA, no driver, no device, a driver too old for the build).
 */
export function describeCuda(caps: Capabilities): string {
  if (!caps.cudaCompiled) return `CUDA unavailable: ${caps.cudaError || 'built without CUDA'}`;
  // The engine's own reason may already begin "CUDA unavailable (...)": keep only what is in the brackets.
  if (caps.cudaDevices === 0)
    return `CUDA unavailable: ${caps.cudaError.replace(/^CUDA unavailable \((.*)\)$/, '$1') || 'no device found'}`;
  const devices = caps.cudaDeviceInfo.map(
    (d, i) =>
      `cuda:${i} ${d.name} (sm_${d.computeCapability.replace('.', '')}, ${gib(d.freeBytes)} free of ${gib(d.totalBytes)})`,
  );
  const versions =
    caps.cudaDriverVersion > 0
      ? `; driver CUDA ${cudaVersion(caps.cudaDriverVersion)}, build CUDA ${cudaVersion(caps.cudaRuntimeVersion)}`
      : '';
  return `CUDA backend loads: ${devices.length > 0 ? devices.join(', ') : `${caps.cudaDevices} device(s)`}${versions}`;
}

export function checkAddon(config: Pick<AppConfig, 'device'>): CheckResult {
  let caps;
  try {
    caps = capabilities();
  } catch (err) {
    return {
      name: 'native engine',
      status: 'fail',
      message: messageOf(err),
      fix: 'build it: npm run build:native (needs cmake and a C++ compiler; RWKVSTREAM_CUDA=0 skips CUDA)',
    };
  }
  const cpu = `AVX2 ${yesNo(caps.avx2)}, AVX-512 ${yesNo(caps.avx512f)}, AVX-512 bf16 ${yesNo(caps.avx512bf16)}`;
  const message = `loads; CPU ${cpu}; ${describeCuda(caps)}`;
  const details = { ...caps };
  if (config.device === 'cuda' && caps.cudaDevices === 0) {
    return {
      name: 'native engine',
      status: 'fail',
      message,
      fix: caps.cudaCompiled
        ? 'no usable GPU: check the NVIDIA driver (nvidia-smi), or use --device cpu'
        : 'rebuild on a machine with the CUDA toolkit (npm run build:native), or use --device cpu',
      details,
    };
  }
  if (!caps.avx2) {
    return {
      name: 'native engine',
      status: 'warn',
      message,
      fix: 'this CPU has no AVX2: the generic kernels work but are several times slower',
      details,
    };
  }
  return { name: 'native engine', status: 'ok', message, details };
}

const MODEL_FIXES: Readonly<Record<string, string>> = {
  E_IO: 'check the path and the file permissions',
  E_MODEL_VERSION: `rwkvstream runs RWKV-7 (x070) models: rwkvstream models pull ${DEFAULT_MODEL_NAME}`,
  E_MODEL_TRUNCATED: 'the file is incomplete: download it again',
  E_MODEL_FORMAT: 'the file is not a model (.pth, .safetensors or rwkv.cpp .bin): check the path',
  E_MODEL_LEGACY_PICKLE: 're-save the checkpoint with a current torch.save (zip container)',
  E_MODEL_DTYPE: 'use an fp32, fp16 or bf16 checkpoint',
  E_MODEL_SHAPE: 'the checkpoint is damaged or not a standard RWKV-7 model: download it again',
  E_MODEL_LIMIT:
    'the file asks for far more memory than its size justifies (damaged or crafted): use an official checkpoint',
} satisfies Partial<Record<ErrorCode, string>>;

export interface ModelCheck {
  result: CheckResult;
  /** The model file and what its header says, when it is a model. */
  file?: string;
  info?: ModelFileInfo;
}

const modelFailure = (file: string, err: unknown, name = 'model'): CheckResult => ({
  name,
  status: 'fail',
  message: `${file}: ${messageOf(err)}`,
  fix: MODEL_FIXES[codeOf(err) ?? ''] ?? `run rwkvstream inspect ${file} for details`,
});

export async function checkModel(config: AppConfig, origin: (path: string) => string): Promise<ModelCheck> {
  let file: string;
  try {
    file = (await resolveModel(config, { origin, download: false })).path;
  } catch (err) {
    return {
      result: {
        name: 'model',
        status: 'fail',
        message: messageOf(err),
        fix: `rwkvstream models pull ${DEFAULT_MODEL_NAME}, or --model FILE, or RWKVSTREAM_MODEL=FILE`,
      },
    };
  }
  try {
    const i = await inspectModel(file);
    return {
      file,
      info: i,
      result: {
        name: 'model',
        status: 'ok',
        message:
          `${file}: ${i.version}, ${i.nLayer} layers x ${i.nEmbd}, ${i.nHead} head${i.nHead === 1 ? '' : 's'}, vocabulary ${i.vocabSize}, ` +
          `${i.fileDtype} ${i.format} file, ${i.parameters} parameters`,
        details: {
          path: file,
          version: i.version,
          nLayer: i.nLayer,
          nEmbd: i.nEmbd,
          nHead: i.nHead,
          vocabSize: i.vocabSize,
          parameters: i.parameters,
        },
      },
    };
  } catch (err) {
    return { result: modelFailure(file, err) };
  }
}

export interface LoadCheck {
  model?: Model;
  /** Why the model did not load (reported as the round trip's failure). */
  result?: CheckResult;
}

/** Loads the model for the round trip, with the configured weights and device. */
export async function loadForCanary(config: AppConfig, file: string): Promise<LoadCheck> {
  try {
    return {
      model: await Model.load({ model: file, weights: config.weights, threads: config.threads, device: config.device }),
    };
  } catch (err) {
    return { result: modelFailure(file, err, 'round trip') };
  }
}

function mismatchFix(modelVocab: number): string {
  if (modelVocab === 256) return 'this is a byte-level model: use --vocab bytes (or give no vocabulary)';
  if (modelVocab - WORLD_VOCAB.vocabSize >= 0 && modelVocab - WORLD_VOCAB.vocabSize < 64) {
    return `this is a World-vocabulary model: --vocab ${WORLD_VOCAB.file} (rwkvstream models pull vocab)`;
  }
  return `give the tokenizer this model was trained with (${modelVocab} ids)`;
}

export interface TokenizerCheck {
  result: CheckResult;
  tokenizer?: Tokenizer;
}

export async function checkTokenizer(
  config: AppConfig,
  origin: (path: string) => string,
  modelVocab: number,
): Promise<TokenizerCheck> {
  let spec: string;
  try {
    spec = (await resolveVocab(config, { origin, download: false, modelVocabSize: modelVocab })).vocab;
  } catch (err) {
    return {
      result: {
        name: 'tokenizer',
        status: 'fail',
        message: messageOf(err),
        fix: 'rwkvstream models pull vocab, or --vocab FILE, or RWKVSTREAM_VOCAB=FILE',
      },
    };
  }
  let tokenizer: Tokenizer;
  try {
    tokenizer = await Tokenizer.load(spec);
  } catch (err) {
    const fix =
      err instanceof EngineError && err.code === 'E_IO'
        ? 'check the path of the vocabulary file'
        : `the file is not the World vocabulary: rwkvstream models pull vocab`;
    return { result: { name: 'tokenizer', status: 'fail', message: `${spec}: ${messageOf(err)}`, fix } };
  }
  const t = tokenizer.info;
  if (!tokenizer.fits(modelVocab)) {
    return {
      result: {
        name: 'tokenizer',
        status: 'fail',
        message: `E_TOKENIZER_MISMATCH: the ${t.kind} tokenizer (${spec}, ${t.vocabSize} ids) does not fit the model's vocabulary of ${modelVocab} ids`,
        fix: mismatchFix(modelVocab),
      },
    };
  }
  return {
    tokenizer,
    result: {
      name: 'tokenizer',
      status: 'ok',
      message: `${t.kind} tokenizer (${spec}, ${t.vocabSize} ids) fits the model's ${modelVocab} ids`,
      details: { vocab: spec, kind: t.kind, vocabSize: t.vocabSize },
    },
  };
}

/** encode+decode gives back the same bytes, and the model reads the tokens into finite logits. */
export async function checkCanary(model: Model, tokenizer: Tokenizer): Promise<CheckResult> {
  const name = 'round trip';
  const bytes = Buffer.from(CANARY, 'utf8');
  let ids: Int32Array;
  let back: Buffer;
  try {
    ids = tokenizer.encodeSync(bytes);
    back = tokenizer.decodeBytes(ids);
  } catch (err) {
    return {
      name,
      status: 'fail',
      message: `encoding the canary failed: ${messageOf(err)}`,
      fix: 'the vocabulary file is damaged: rwkvstream models pull vocab',
    };
  }
  if (!back.equals(bytes)) {
    let at = 0;
    while (at < bytes.length && bytes[at] === back[at]) at++;
    return {
      name,
      status: 'fail',
      message: `decode(encode(text)) differs from the text from byte ${at} on (${bytes.length} bytes in, ${back.length} out)`,
      fix: 'the vocabulary file is damaged or edited: rwkvstream models pull vocab',
    };
  }
  let logits: Float32Array | null;
  try {
    logits = await model.forward(ids, model.newState(), 'last');
  } catch (err) {
    return {
      name,
      status: 'fail',
      message: `running the model failed: ${messageOf(err)}`,
      fix: 'run rwkvstream logits MODEL --text hello for details',
    };
  }
  const values = logits ?? new Float32Array(0);
  const bad = values.reduce((n, v) => (Number.isFinite(v) ? n : n + 1), 0);
  if (values.length !== model.info.vocabSize || bad > 0) {
    return {
      name,
      status: 'fail',
      message: `the model gave ${bad} non-finite of ${values.length} logits for the canary`,
      fix: 'the weights are damaged (download the model again), or f16 weights overflow: try --weights f32 or bf16',
    };
  }
  return {
    name,
    status: 'ok',
    message: `${bytes.length} bytes of multilingual text -> ${ids.length} tokens -> the same bytes; ${values.length} finite logits`,
    details: { weights: model.info.weights, device: model.info.device },
  };
}
