// Official RWKV-7 checkpoints, what Hugging Face says about a repository's files, and what the local cache
// records about a downloaded file. Release file names change with every retraining, so the catalog stores a
// pattern and a size, not a file name; the exact file is picked from the repository listing at download time.
import { z } from 'zod';

import { PROMPT_FORMATS } from './prompt-formats.ts';

export const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 as 64 lowercase hex digits');

export const HfRepoSchema = z
  .string()
  .regex(/^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/, 'expected a repository as owner/name');

/** g1: RWKV-7 G series; world: RWKV-7 World; world6/world5/world4: RWKV-6/5/4 World; raven4, pile4: RWKV-4. */
export const ModelFamilySchema = z.enum(['g1', 'world', 'world6', 'world5', 'world4', 'raven4', 'pile4']);

/** The vocabulary a family was trained with: the World vocabulary, or GPT-NeoX 20B (RWKV-4 Pile and Raven). */
export const CatalogTokenizerSchema = z.enum(['world', '20b']);

export const CatalogModelSchema = z.strictObject({
  /** What `models pull NAME` and `--model NAME` accept. */
  name: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/),
  family: ModelFamilySchema,
  description: z.string().min(1),
  repo: HfRepoSchema,
  /**
   * Regular expression (case-insensitive) a release file name must match. A named group `date` (YYYYMMDD)
   * orders releases: the newest matching file is the one downloaded.
   */
  filePattern: z.string().min(1),
  /** The newest release known when the catalog was written (the listing may hold a newer one, which then wins). */
  file: z.string().min(1),
  /** Of `file`, where BlinkDL publishes one beside it; a download is always checked against the listing's LFS sha256. */
  sha256: Sha256Schema.optional(),
  /** How documents are written for it (schemas/prompt-formats.ts). */
  promptFormat: z.enum(PROMPT_FORMATS),
  tokenizer: CatalogTokenizerSchema,
  params: z.number().int().positive(),
  nLayer: z.number().int().positive(),
  nEmbd: z.number().int().positive(),
  vocabSize: z.number().int().positive(),
  /** Size of the official (bf16) file; a listed file more than 25% off is not this model. */
  fileBytes: z.number().int().positive(),
  /** Memory the loaded model needs with f32 weights (the engine default) and with bf16 weights. */
  ramBytes: z.strictObject({ f32: z.number().int().positive(), bf16: z.number().int().positive() }),
});

export const ModelCatalogSchema = z
  .array(CatalogModelSchema)
  .min(1)
  .refine((models) => new Set(models.map((m) => m.name)).size === models.length, 'catalog names must be distinct');

/** The World vocabulary: one exact file, so it is pinned by checksum and may come from any of its sources. */
export const VocabSpecSchema = z.strictObject({
  name: z.string().min(1),
  file: z.string().min(1),
  sha256: Sha256Schema,
  size: z.number().int().positive(),
  vocabSize: z.number().int().positive(),
  /** Looked up first: a file of this name anywhere in the repository. */
  repo: HfRepoSchema,
});

/** One entry of `GET /api/models/{repo}/tree/{revision}`. */
export const HfTreeEntrySchema = z.object({
  /** "file" or "directory" (anything else is ignored). */
  type: z.string(),
  path: z.string().min(1),
  size: z.number().int().nonnegative().default(0),
  /** Git blob id (sha1) of the file, or of the LFS pointer for LFS files. */
  oid: z.string().optional(),
  /** LFS files: `oid` is the sha256 of the content. */
  lfs: z.object({ oid: z.string(), size: z.number().int().nonnegative() }).optional(),
});

export const HfTreeSchema = z.array(HfTreeEntrySchema);

export const ArtifactKindSchema = z.enum(['model', 'vocab']);

/** Written beside every cached file once it is complete and verified. */
export const CachedArtifactSchema = z.strictObject({
  kind: ArtifactKindSchema,
  name: z.string().min(1),
  /** File name inside the artifact's cache directory. */
  file: z.string().min(1),
  repo: HfRepoSchema.optional(),
  url: z.string().url(),
  sha256: Sha256Schema,
  size: z.number().int().nonnegative(),
  pulledAt: z.iso.datetime(),
});

export type ModelFamily = z.infer<typeof ModelFamilySchema>;
export type CatalogModel = z.infer<typeof CatalogModelSchema>;
export type ModelCatalog = z.infer<typeof ModelCatalogSchema>;
export type VocabSpec = z.infer<typeof VocabSpecSchema>;
export type HfTreeEntry = z.infer<typeof HfTreeEntrySchema>;
export type ArtifactKind = z.infer<typeof ArtifactKindSchema>;
export type CachedArtifact = z.infer<typeof CachedArtifactSchema>;

/** `rwkvstream models list --json`: the catalog with what is cached, plus cached models outside the catalog. */
export const CachedSummarySchema = z.strictObject({
  path: z.string(),
  file: z.string(),
  size: z.number().int().nonnegative(),
  sha256: Sha256Schema,
  pulledAt: z.string(),
});

export const ModelListingSchema = z.strictObject({
  home: z.string(),
  /** This machine's memory, bytes (what `fits` is judged against). */
  memory: z.number().int().nonnegative(),
  defaultModel: z.string(),
  models: z.array(
    z.strictObject({
      name: z.string(),
      /** null: a model pulled by repository and file name, not from the catalog. */
      family: ModelFamilySchema.nullable(),
      repo: z.string().nullable(),
      params: z.number().int().positive().nullable(),
      nLayer: z.number().int().positive().nullable(),
      nEmbd: z.number().int().positive().nullable(),
      fileBytes: z.number().int().nonnegative(),
      ramBytes: CatalogModelSchema.shape.ramBytes.nullable(),
      promptFormat: CatalogModelSchema.shape.promptFormat.nullable(),
      tokenizer: CatalogTokenizerSchema.nullable(),
      /** In this machine's memory: yes (f32 weights), bf16 (only with --weights bf16), no; null: size unknown. */
      fits: z.enum(['yes', 'bf16', 'no']).nullable(),
      /** services/models/speed.ts: from the measured CPU figures, scaled by size; null: size unknown. */
      speed: z
        .strictObject({
          cpuPrefill: z.number(),
          cpuDecode: z.number(),
          speedClass: z.enum(['fast', 'moderate', 'slow', 'gpu']),
        })
        .nullable(),
      cached: CachedSummarySchema.nullable(),
    }),
  ),
  vocab: z.strictObject({ name: z.string(), file: z.string(), cached: CachedSummarySchema.nullable() }),
});

export type CachedSummary = z.infer<typeof CachedSummarySchema>;
export type ModelListing = z.infer<typeof ModelListingSchema>;
