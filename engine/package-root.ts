// The package's root directory (where package.json, native/build and models/ are), found from this file's place:
// the nearest directory above it that holds a package.json. The same code runs as TypeScript from the sources
// (engine/) and as JavaScript from dist/engine/, one level deeper, so a fixed '..' would be right in one of them only.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(start: string): string {
  for (let dir = start; ; ) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    // No package.json above: the layout of the sources, one level up.
    if (parent === dir) return path.resolve(start, '..');
    dir = parent;
  }
}

export const packageRoot = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
