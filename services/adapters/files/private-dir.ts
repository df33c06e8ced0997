// Creating a checkpoint directory and whatever parents it lacks, private to the user (0700). One level at a
// time, non-recursively: node's recursive mkdir never returns on a path under /proc (each level's ENOENT
// sends it back up to create the parent again), and a directory that cannot be made must fail at once with
// its reason, not spin.
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';

export async function makePrivateDir(dir: string): Promise<void> {
  const missing: string[] = [];
  let at = path.resolve(dir);
  for (;;) {
    try {
      const info = await stat(at);
      if (!info.isDirectory()) throw Object.assign(new Error(`${at} is not a directory`), { code: 'ENOTDIR' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      const parent = path.dirname(at);
      if (parent === at) throw err;
      missing.push(at);
      at = parent;
    }
  }
  for (const level of missing.reverse()) {
    try {
      await mkdir(level, { mode: 0o700 });
    } catch (err) {
      // Made by another process in the meantime: as good.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
