// One configuration from four layers, highest precedence first: flags, environment, config file, defaults.
// Objects (topics, summary, ...) merge key by key; every other value is taken whole from the highest layer
// that sets it. Each layer remembers where its values came from, so a validation error names the flag, the
// variable or the file that supplied the bad value.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { AppConfigSchema, type AppConfig } from '../../schemas/app-config.ts';
import { redactUrl } from '../redact.ts';
import { DEFAULT_VOCAB_URL, isVocabName } from '../models/catalog.ts';
import {
  ENV_BINDINGS,
  FLAG_BINDINGS,
  SECRET_PATHS,
  SETTINGS,
  convert,
  flagName,
  type ConfigFlagName,
} from './bindings.ts';
import { ConfigError, type ConfigIssue } from './errors.ts';

type Tree = Record<string, unknown>;

interface Layer {
  values: Tree;
  /** Where the value at a dotted path came from. */
  source(path: string): string;
}

export type ConfigFlags = Partial<Record<ConfigFlagName | 'config', string | boolean | string[] | undefined>> &
  Record<string, unknown>;

export interface LoadConfigOptions {
  /** commander's option values; keys other than the config flags are ignored. */
  flags?: ConfigFlags;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface LoadedConfig {
  config: AppConfig;
  /** Where a setting's value came from: "flag --model", "environment RWKVSTREAM_MODEL", "config file x.json", "default". */
  origin(path: string): string;
  /** The config file read, if any. */
  file?: string;
}

/** The label of the binding that set `dotted` or the object or list containing it (kafkaBrokers.1 -> kafkaBrokers). */
function labelOf(sources: Map<string, string>, dotted: string, fallback: string): string {
  const parts = dotted.split('.');
  for (let n = parts.length; n > 0; n--) {
    const label = sources.get(parts.slice(0, n).join('.'));
    if (label !== undefined) return label;
  }
  return fallback;
}

const isTree = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The value at a dotted path; numeric parts index arrays (kafkaBrokers.1). */
function getPath(tree: unknown, dotted: string): unknown {
  let node = tree;
  for (const key of dotted.split('.')) {
    if (Array.isArray(node) && /^\d+$/.test(key)) node = node[Number(key)];
    else if (isTree(node) && Object.hasOwn(node, key)) node = node[key];
    else return undefined;
  }
  return node;
}

function setPath(tree: Tree, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    if (!isTree(node[key])) node[key] = {};
    node = node[key] as Tree;
  }
  node[keys.at(-1)!] = value;
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    out[key] = isTree(value) && isTree(out[key]) ? merge(out[key], value) : value;
  }
  return out;
}

/** XDG's cache directory: downloads can be deleted and fetched again. */
export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'rwkvstream');
  return path.join(env.HOME || os.homedir(), '.cache', 'rwkvstream');
}

function flagLayer(flags: ConfigFlags): Layer {
  const values: Tree = {};
  const sources = new Map<string, string>();
  for (const [name, binding] of Object.entries(FLAG_BINDINGS)) {
    const raw = flags[name];
    // A repeatable flag not given is commander's empty list: unset, like any flag not given.
    const given =
      typeof raw === 'string' ||
      typeof raw === 'boolean' ||
      (Array.isArray(raw) && raw.length > 0 && raw.every((r) => typeof r === 'string'));
    if (!given) continue;
    setPath(values, binding.path, convert(raw as string | boolean | string[], binding.kind));
    sources.set(binding.path, `flag ${flagName(binding.flag)}`);
  }
  return { values, source: (p) => labelOf(sources, p, 'flags') };
}

function envLayer(env: NodeJS.ProcessEnv): Layer {
  const values: Tree = {};
  const sources = new Map<string, string>();
  for (const [name, binding] of Object.entries(ENV_BINDINGS)) {
    const raw = env[name];
    // An empty variable (`REDIS_URL=`) is the shell's way of leaving it unset.
    if (raw === undefined || raw.trim() === '') continue;
    setPath(values, binding.path, convert(raw, binding.kind));
    sources.set(binding.path, `environment ${name}`);
  }
  return { values, source: (p) => labelOf(sources, p, 'environment') };
}

/** A bare word is a model name (catalog or cache); anything else is a path. */
export function isModelName(value: string): boolean {
  return !/[\\/]/.test(value) && !/\.(pth|safetensors|bin|st)$/i.test(value);
}

/** Paths in a config file are relative to the file, not to wherever the command happens to run. */
function resolveFilePaths(values: Tree, dir: string): void {
  const rebase = (key: string, keep: (v: string) => boolean) => {
    const v = values[key];
    if (typeof v === 'string' && v.length > 0 && !path.isAbsolute(v) && !keep(v)) values[key] = path.resolve(dir, v);
  };
  rebase('model', isModelName);
  rebase('vocab', (v) => v === 'bytes' || isVocabName(v));
  rebase('home', () => false);
  rebase('checkpointDir', () => false);
  // Files of credentials and certificates.
  for (const [group, keys] of [
    ['redis', ['passwordFile', 'sentinelPasswordFile']],
    ['redis.tls', ['ca', 'cert', 'key']],
    ['kafka.tls', ['ca', 'cert', 'key']],
    ['kafka.sasl', ['passwordFile']],
  ] as const) {
    const node = getPath(values, group);
    if (!isTree(node)) continue;
    for (const key of keys) {
      const v = node[key];
      if (typeof v === 'string' && v.length > 0 && !path.isAbsolute(v)) node[key] = path.resolve(dir, v);
    }
  }
  const worker = values.worker;
  if (isTree(worker) && Array.isArray(worker.fileRoots)) {
    worker.fileRoots = worker.fileRoots.map((r: unknown) =>
      typeof r === 'string' && r.length > 0 && !path.isAbsolute(r) ? path.resolve(dir, r) : r,
    );
  }
}

async function fileLayer(file: string, cwd: string, via: string): Promise<Layer> {
  const label = `config file ${file}`;
  const fail = (message: string): never => {
    throw new ConfigError([{ source: label, path: '', message: `${message} (given by ${via})` }]);
  };
  if (/\.ya?ml$/i.test(file))
    fail('YAML is not supported (no YAML parser is installed); write the configuration as JSON');
  const full = path.resolve(cwd, file);
  let text = '';
  try {
    text = await readFile(full, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    fail(`cannot read it: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    fail(`not valid JSON: ${(err as Error).message}`);
  }
  if (!isTree(data))
    fail(`expected a JSON object of settings, got ${Array.isArray(data) ? 'an array' : JSON.stringify(data)}`);
  const values = structuredClone(data as Tree);
  resolveFilePaths(values, path.dirname(full));
  return { values, source: () => label };
}

/** Levenshtein distance, to suggest the setting a misspelt key meant. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

function knownKeys(parentPath: string): string[] {
  let shape: unknown = AppConfigSchema.shape;
  for (const key of parentPath ? parentPath.split('.') : []) {
    let field = (shape as Record<string, { unwrap?: () => unknown; shape?: unknown }>)[key];
    while (field && field.shape === undefined && typeof field.unwrap === 'function')
      field = field.unwrap() as typeof field;
    shape = field?.shape;
  }
  return isTree(shape) ? Object.keys(shape) : [];
}

function unknownKeyMessage(parentPath: string, key: string): string {
  const keys = knownKeys(parentPath);
  const near = keys.map((k) => ({ k, d: distance(k.toLowerCase(), key.toLowerCase()) })).sort((a, b) => a.d - b.d)[0];
  return near && near.d <= Math.max(2, Math.floor(key.length / 3))
    ? `unknown setting (did you mean ${parentPath ? `${parentPath}.` : ''}${near.k}?)`
    : `unknown setting; known here: ${keys.join(', ')}`;
}

/** The text of a value in a message: a secret never, a URL without its password. */
function shown(dotted: string, value: unknown): unknown {
  const hidden = '(secret, not shown)';
  if (SECRET_PATHS.some((p) => dotted === p || dotted.startsWith(`${p}.`))) return hidden;
  if (dotted === 'redisUrl' && urlPassword(value) !== '') return redactUrl(value as string);
  // An object holding a secret (kafka.sasl, redis) is quoted with the secret masked.
  const inside = SECRET_PATHS.filter((p) => p.startsWith(`${dotted}.`) || dotted === '');
  if (isTree(value) && inside.length > 0) {
    const copy = structuredClone(value);
    for (const p of inside)
      if (getPath(copy, dotted ? p.slice(dotted.length + 1) : p) !== undefined)
        setPath(copy, dotted ? p.slice(dotted.length + 1) : p, hidden);
    if (dotted === '' && urlPassword(copy.redisUrl) !== '') copy.redisUrl = redactUrl(copy.redisUrl as string);
    return copy;
  }
  return value;
}

/** A URL's password, if it has one. */
function urlPassword(url: unknown): string {
  if (typeof url !== 'string') return '';
  try {
    return new URL(url).password;
  } catch {
    return '';
  }
}

/**
 * Secrets where they could leak: a password on the command line (every user of the machine reads it in `ps`)
 * or written into a config file (files are copied, shared and committed; a file naming a file keeps the secret
 * in one place with its own permissions).
 */
function secretIssues(merged: Tree, origin: (dotted: string) => string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (urlPassword(merged.redisUrl) !== '' && origin('redisUrl').startsWith('flag')) {
    issues.push({
      source: origin('redisUrl'),
      path: 'redisUrl',
      message:
        'a password on the command line is visible to every user of the machine (ps); give the URL without it and set REDIS_PASSWORD or REDIS_PASSWORD_FILE (or put the whole URL in REDIS_URL)',
    });
  }
  for (const setting of SETTINGS.filter((s) => s.secret)) {
    if (getPath(merged, setting.path) === undefined) continue;
    const from = origin(setting.path);
    if (!from.startsWith('config file')) continue;
    issues.push({
      source: from,
      path: setting.path,
      message: `a password is not written into a config file; put it in a file of its own and name that file with ${setting.path}File, or set ${setting.env}`,
    });
  }
  return issues;
}

/** Topics not named one by one follow the topic prefix (a bad prefix is left for validation to report). */
function applyTopicPrefix(merged: Tree): void {
  const prefix = merged.topicPrefix;
  if (typeof prefix !== 'string') return;
  const topics: Tree = isTree(merged.topics) ? { ...merged.topics } : {};
  const names = { documents: 'documents', events: 'events', results: 'results', deadLetter: 'dead-letter' };
  for (const [key, suffix] of Object.entries(names)) topics[key] ??= `${prefix}.${suffix}`;
  merged.topics = topics;
}

export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const flags = options.flags ?? {};

  const configFlag = typeof flags.config === 'string' ? flags.config : undefined;
  const configEnv = env.RWKVSTREAM_CONFIG?.trim() ? env.RWKVSTREAM_CONFIG : undefined;
  const file = configFlag ?? configEnv;
  const layers: Layer[] = [flagLayer(flags), envLayer(env)];
  if (file !== undefined)
    layers.push(await fileLayer(file, cwd, configFlag !== undefined ? '--config' : 'RWKVSTREAM_CONFIG'));
  const defaults: Layer = { values: { home: defaultHome(env), vocabUrl: DEFAULT_VOCAB_URL }, source: () => 'default' };
  layers.push(defaults);

  let merged: Tree = {};
  for (const layer of [...layers].reverse()) merged = merge(merged, layer.values);
  if (merged.checkpointDir === undefined && typeof merged.home === 'string') {
    merged.checkpointDir = path.join(merged.home, 'checkpoints');
  }
  applyTopicPrefix(merged);

  const origin = (dotted: string): string => {
    for (const layer of layers) if (getPath(layer.values, dotted) !== undefined) return layer.source(dotted);
    // Set by no layer: a schema default, or a part the setter of the enclosing object left out.
    const parent = dotted.split('.').slice(0, -1).join('.');
    return parent ? origin(parent) : 'default';
  };

  const refused = secretIssues(merged, origin);
  if (refused.length > 0) throw new ConfigError(refused);

  const parsed = AppConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issues: ConfigIssue[] = [];
    for (const issue of parsed.error.issues) {
      const at = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          const full = at ? `${at}.${key}` : key;
          issues.push({ source: origin(full), path: full, message: unknownKeyMessage(at, key) });
        }
        continue;
      }
      const value = getPath(merged, at);
      const got = value === undefined ? 'nothing' : JSON.stringify(shown(at, value));
      issues.push({ source: origin(at), path: at, message: `${issue.message}, got ${got}` });
    }
    throw new ConfigError(issues);
  }
  return { config: parsed.data, origin, ...(file !== undefined ? { file } : {}) };
}
