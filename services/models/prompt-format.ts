// Which prompt format a command's documents are written in: the configured one (--prompt-format,
// RWKVSTREAM_PROMPT_FORMAT, the config file), else the catalog entry's, else the one an official release's
// file name implies, else raw. Found without loading the model: the model is resolved as the command will
// resolve it (without downloading); one that would be downloaded is the configured catalog model or the default.
import path from 'node:path';

import { formatFromFileName, type PromptFormat } from '../../schemas/prompt-formats.ts';
import type { AppConfig } from '../../schemas/app-config.ts';
import { DEFAULT_MODEL_NAME, findCatalogModel } from './catalog.ts';
import { resolveModel, type ResolvedModel } from './resolve.ts';

export interface FormatChoice {
  format: PromptFormat;
  /** Why, for a person: "--prompt-format", "the catalog entry g1-0.1b", "the file name …", "no known model family". */
  reason: string;
}

/** The format a resolved (or about to be downloaded) model implies. */
export function formatOfModel(model: Pick<ResolvedModel, 'path' | 'catalog'>): FormatChoice {
  if (model.catalog) return { format: model.catalog.promptFormat, reason: `the catalog entry ${model.catalog.name}` };
  const file = path.basename(model.path);
  const byName = formatFromFileName(file);
  if (byName) return { format: byName, reason: `the file name ${file}` };
  return { format: 'raw', reason: `${file} is not an official release name (raw: plain completion)` };
}

type FormatConfig = Pick<
  AppConfig,
  'promptFormat' | 'model' | 'vocab' | 'home' | 'hfEndpoint' | 'vocabUrl' | 'offline'
>;

export async function choosePromptFormat(
  config: FormatConfig,
  origin?: (path: string) => string,
): Promise<FormatChoice> {
  if (config.promptFormat !== undefined)
    return { format: config.promptFormat, reason: origin?.('promptFormat') ?? 'the configuration' };
  let model: Pick<ResolvedModel, 'path' | 'catalog'>;
  try {
    model = await resolveModel(config, { download: false });
  } catch {
    // Not here yet: what the command would download (the error about a missing model comes when it runs).
    const name = config.model ?? DEFAULT_MODEL_NAME;
    const entry = findCatalogModel(name);
    model = entry ? { path: entry.file, catalog: entry } : { path: name };
  }
  return formatOfModel(model);
}
