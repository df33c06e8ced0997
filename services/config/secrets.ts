// Secrets and the files behind them (passwords, CA, client certificates and keys), read when a command
// connects. A secret comes from its variable or from a file named by its …File setting, never both; the file
// is read as it is, less one trailing line break. Errors name the setting and the file, never the content.
import { readFile } from 'node:fs/promises';

import { ConfigError } from './errors.ts';
import type { LoadedConfig } from './load.ts';

/** Dotted value at `path` of the loaded configuration. */
function valueAt(loaded: LoadedConfig, dotted: string): unknown {
  let node: unknown = loaded.config;
  for (const key of dotted.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** The content of the file a setting names, or undefined when it is unset. */
export async function readSettingFile(loaded: LoadedConfig, dotted: string): Promise<Buffer | undefined> {
  const file = valueAt(loaded, dotted);
  if (typeof file !== 'string') return undefined;
  try {
    return await readFile(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError([
      { source: loaded.origin(dotted), path: dotted, message: `cannot read ${file}: ${e.code ?? e.message}` },
    ]);
  }
}

/** A secret from its variable (`dotted`) or its file (`dotted` + "File"); undefined when neither is set. */
export async function readSecret(loaded: LoadedConfig, dotted: string): Promise<string | undefined> {
  const direct = valueAt(loaded, dotted);
  const fromFile = `${dotted}File`;
  if (typeof direct === 'string' && valueAt(loaded, fromFile) !== undefined) {
    throw new ConfigError([
      {
        source: `${loaded.origin(dotted)} and ${loaded.origin(fromFile)}`,
        path: dotted,
        message: `set either ${dotted} or ${fromFile}, not both`,
      },
    ]);
  }
  if (typeof direct === 'string') return direct;
  const content = await readSettingFile(loaded, fromFile);
  if (content === undefined) return undefined;
  const text = content.toString('utf8').replace(/\r?\n$/, '');
  if (text.length === 0)
    throw new ConfigError([{ source: loaded.origin(fromFile), path: fromFile, message: 'the file is empty' }]);
  return text;
}
