// File names inside a job directory. Ids may hold '/' and be 200 characters long, so a name is a readable,
// shortened form of the id plus a hash of the whole id (two ids never share a name, and every name fits the
// 255-byte limit of common file systems).
import { createHash } from 'node:crypto';

import type { StateKey } from '../../../pipelines/ports.ts';

export function idName(id: string): string {
  const readable = id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
  return `${readable}-${createHash('sha256').update(id).digest('hex').slice(0, 12)}`;
}

export function stateName(key: StateKey): string {
  return `${key.kind}-${idName(key.id)}`;
}
