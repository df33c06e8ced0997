// The local cache: one directory per artifact (`<home>/models/<name>/`, `<home>/vocab/<name>/`) holding the
// verified file and `artifact.json`, which records where it came from and its sha256. A file without a valid
// record (a copy left by hand, a download whose record was never written) is not considered cached.
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { CachedArtifactSchema, type ArtifactKind, type CachedArtifact } from '../../schemas/models.ts';

export interface CachedFile extends CachedArtifact {
  /** Absolute path of the cached file. */
  path: string;
}

const RECORD = 'artifact.json';

function kindDir(home: string, kind: ArtifactKind): string {
  return path.join(home, kind === 'model' ? 'models' : 'vocab');
}

export function artifactDir(home: string, kind: ArtifactKind, name: string): string {
  return path.join(kindDir(home, kind), name);
}

/** The cached artifact, or undefined when it is absent, its record is unreadable or its file has another size. */
export async function readCached(home: string, kind: ArtifactKind, name: string): Promise<CachedFile | undefined> {
  const dir = artifactDir(home, kind, name);
  let record: CachedArtifact;
  try {
    const parsed = CachedArtifactSchema.safeParse(JSON.parse(await readFile(path.join(dir, RECORD), 'utf8')));
    if (!parsed.success || parsed.data.kind !== kind || parsed.data.name !== name) return undefined;
    record = parsed.data;
  } catch {
    return undefined;
  }
  const file = path.join(dir, record.file);
  try {
    if ((await stat(file)).size !== record.size) return undefined;
  } catch {
    return undefined;
  }
  return { ...record, path: file };
}

/** Records a verified file (already in its artifact directory); replaces the record atomically. */
export async function writeCached(home: string, record: CachedArtifact): Promise<CachedFile> {
  const dir = artifactDir(home, record.kind, record.name);
  const valid = CachedArtifactSchema.parse(record);
  const tmp = path.join(dir, `${RECORD}.${process.pid}.tmp`);
  await writeFile(tmp, `${JSON.stringify(valid, null, 2)}\n`);
  await rename(tmp, path.join(dir, RECORD));
  return { ...valid, path: path.join(dir, valid.file) };
}

/** Deletes a replaced release's file (a new pull of the same name downloaded a newer one). */
export async function removeFile(home: string, kind: ArtifactKind, name: string, file: string): Promise<void> {
  await rm(path.join(artifactDir(home, kind, name), file), { force: true });
}

async function subdirs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}

/** Every complete cached artifact of a kind, most recently pulled first. */
export async function listCached(home: string, kind: ArtifactKind): Promise<CachedFile[]> {
  const names = await subdirs(kindDir(home, kind));
  const found = await Promise.all(names.map((name) => readCached(home, kind, name)));
  return found.filter((f): f is CachedFile => f !== undefined).sort((a, b) => b.pulledAt.localeCompare(a.pulledAt));
}
