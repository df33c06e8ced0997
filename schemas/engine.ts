// Engine-facing shapes: load options, model and tokenizer descriptions, state headers.
import { z } from 'zod';

/** How matrices are kept in memory; int8 (one scale per output row, quantized at load) runs on the CPU only. */
export const WeightTypeSchema = z.enum(['f32', 'bf16', 'f16', 'int8']);
export const DeviceSchema = z.enum(['cpu', 'cuda', 'auto']);
export const LogitsModeSchema = z.enum(['none', 'last', 'all']);

export const EngineOptionsSchema = z.object({
  model: z.string().min(1, 'model path is required'),
  /**
   * The tokenizer: a World vocabulary file, "bytes" or a Hugging Face tokenizers .json file (the GPT-NeoX 20B
   * tokenizer of RWKV-4 Pile models is one: the models cache resolves the name "20b" to its file); omitted:
   * bytes for 256-id models (any other model needs its tokenizer given).
   */
  vocab: z.string().min(1).optional(),
  /** A state-tuning file (blocks.{i}.att.time_state): every document starts from the state it holds. */
  initialState: z.string().min(1).optional(),
  weights: WeightTypeSchema.default('f32'),
  threads: z.number().int().min(0).max(1024).default(0),
  device: DeviceSchema.default('cpu'),
});

/** x070: the four LoRA widths; x060: w = decay LoRA width, mix (x060 only) = token-shift LoRA width; older: 0. */
export const LayerRanksSchema = z.object({
  w: z.number().int(),
  a: z.number().int(),
  v: z.number().int(),
  g: z.number().int(),
  mix: z.number().int().optional(),
});

export const ModelInfoSchema = z.object({
  version: z.string(),
  format: z.string(),
  fileDtype: z.string(),
  weights: WeightTypeSchema,
  nLayer: z.number().int().positive(),
  nEmbd: z.number().int().positive(),
  /** 0 for v4, whose recurrence is per channel. */
  nHead: z.number().int().nonnegative(),
  headSize: z.number().int().nonnegative(),
  vocabSize: z.number().int().positive(),
  ffn: z.number().int().positive(),
  ranks: z.array(LayerRanksSchema),
  fingerprint: z.string().regex(/^[0-9a-f]{16}$/),
  device: z.string(),
  stateFloats: z.number().int().positive(),
});

/**
 * What a model file says about itself without being loaded (inspectModel): the dimensions a load would report,
 * with the container's dtypes and sizes. No weights are read, so there is no device, no weight type and, unless
 * asked for, no fingerprint (it hashes every byte).
 */
export const ModelFileInfoSchema = ModelInfoSchema.pick({
  version: true,
  format: true,
  fileDtype: true,
  nLayer: true,
  nEmbd: true,
  nHead: true,
  headSize: true,
  vocabSize: true,
  ffn: true,
  ranks: true,
  stateFloats: true,
}).extend({
  /** Every dtype the file's tensors use (f32, f16, bf16, ...). */
  dtypes: z.array(z.string()).min(1),
  /** Elements of all the file's tensors. */
  parameters: z.number().int().nonnegative(),
  tensors: z.number().int().nonnegative(),
  /** x070-7a's per-token D x D DeepEmbed width; 0 otherwise. */
  deepEmbedRank: z.number().int().nonnegative(),
  fingerprint: z
    .string()
    .regex(/^[0-9a-f]{16}$/)
    .optional(),
});

export const TokenizerInfoSchema = z.object({
  /** hf: a Hugging Face tokenizers JSON (the 20B tokenizer of RWKV-4 Pile models). */
  kind: z.enum(['world', 'bytes', 'hf']),
  vocabSize: z.number().int().positive(),
  fingerprint: z.string().regex(/^[0-9a-f]{16}$/),
});

export const StateInfoSchema = z.object({
  format: z.number().int(),
  version: z.string(),
  modelFingerprint: z.string(),
  tokenizerFingerprint: z.string(),
  nLayer: z.number().int(),
  nEmbd: z.number().int(),
  nHead: z.number().int(),
  headSize: z.number().int(),
  tokens: z.number().int().nonnegative(),
});

export const CapabilitiesSchema = z.object({
  avx2: z.boolean(),
  avx512f: z.boolean(),
  avx512bf16: z.boolean(),
  cudaCompiled: z.boolean(),
  cudaDevices: z.number().int(),
  cudaError: z.string(),
  /** CUDA versions as the runtime reports them (12080 = 12.8); 0 unknown. */
  cudaDriverVersion: z.number().int().default(0),
  cudaRuntimeVersion: z.number().int().default(0),
  cudaDeviceInfo: z
    .array(
      z.object({
        name: z.string(),
        computeCapability: z.string(),
        totalBytes: z.number().nonnegative(),
        freeBytes: z.number().nonnegative(),
      }),
    )
    .default([]),
});

export type WeightType = z.infer<typeof WeightTypeSchema>;
export type Device = z.infer<typeof DeviceSchema>;
export type LogitsMode = z.infer<typeof LogitsModeSchema>;
export type EngineOptions = z.input<typeof EngineOptionsSchema>;
export type ModelInfo = z.infer<typeof ModelInfoSchema>;
export type ModelFileInfo = z.infer<typeof ModelFileInfoSchema>;
export type TokenizerInfo = z.infer<typeof TokenizerInfoSchema>;
export type StateInfo = z.infer<typeof StateInfoSchema>;
export type Capabilities = z.infer<typeof CapabilitiesSchema>;
