// The folder-graph rules of docs/architecture.md, checked over the import graph of the TypeScript sources:
// layers read top-down (schemas -> engine -> pipelines -> services), adapters never reach into the processes
// that wire them, no text in pipelines/ or engine/ names services/, and no import cycle between folders.
import { type Dirent, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { type ImportRef, ImportScanError, scanImports } from './imports.ts';

/** The top-level folders whose sources are scanned. */
export const SCANNED_ROOTS = ['schemas', 'engine', 'pipelines', 'services', 'bench', 'tools', 'test', 'bin'] as const;

const SOURCE_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs']);
const SKIPPED_DIRS = new Set(['node_modules', 'dist', '.git']);

/** What each layer may import besides itself (repository-relative folder prefixes). */
const LAYER_ALLOWED: Record<string, readonly string[]> = {
  schemas: [],
  // native/ is the compiled addon the engine loads.
  engine: ['schemas', 'native'],
  pipelines: ['schemas', 'engine'],
};

const PROCESS_FOLDERS = ['services/cli', 'services/worker', 'services/embedded'] as const;

export type RuleName = 'layer' | 'adapter-process' | 'services-text' | 'folder-cycle' | 'unresolved' | 'unparsable';

export interface Violation {
  rule: RuleName;
  /** The repository-relative file the finding is in (for a cycle: the file of its first import). */
  file: string;
  line: number;
  message: string;
}

export interface Edge {
  from: string; // file, repository-relative
  to: string; // file or folder the specifier resolves to, repository-relative
  line: number;
  specifier: string;
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

/** Every file under `dir` (repository-relative, posix separators), skipping dependency and build folders. */
export function listFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  let entries: Dirent[];
  try {
    entries = readdirSync(path.join(root, dir), { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw error;
  }
  for (const entry of entries) {
    const rel = dir === '' ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) out.push(...listFiles(root, rel));
    } else if (entry.isFile()) {
      out.push(rel);
    }
  }
  return out.sort();
}

function isSource(file: string): boolean {
  return SOURCE_EXTENSIONS.has(path.extname(file)) && !file.endsWith('.d.ts');
}

/**
 * The folder a file belongs to for the cycle check: services/adapters/<port technology>, services/<role>,
 * pipelines/<subfolder>, else the top-level directory (engine, schemas, test). A file directly in services/ or
 * pipelines/ belongs to that directory.
 */
export function folderOf(file: string): string {
  const parts = file.split('/');
  const dirs = parts.slice(0, -1);
  // Each adapter is a folder of its own; elsewhere in services/ a subfolder belongs to its parent (the commands
  // of services/cli are the CLI). The task heads in pipelines/tasks are a folder of their own, so the pipelines
  // cannot lean on them and be leaned on back.
  if (dirs[0] === 'services') return dirs.slice(0, dirs[1] === 'adapters' ? 3 : 2).join('/');
  if (dirs[0] === 'pipelines') return dirs.slice(0, 2).join('/');
  return dirs.length === 0 ? '.' : (dirs[0] as string);
}

function within(file: string, folder: string): boolean {
  return file === folder || file.startsWith(`${folder}/`);
}

function layerOf(file: string): string {
  return file.split('/')[0] as string;
}

/** The relative imports of every scanned source, resolved to repository-relative paths. */
export function collectEdges(root: string): { edges: Edge[]; violations: Violation[] } {
  const edges: Edge[] = [];
  const violations: Violation[] = [];
  for (const top of SCANNED_ROOTS) {
    for (const file of listFiles(root, top)) {
      if (!isSource(file)) continue;
      let refs: ImportRef[];
      try {
        refs = scanImports(readFileSync(path.join(root, file), 'utf8'));
      } catch (error) {
        if (!(error instanceof ImportScanError)) throw error;
        violations.push({
          rule: 'unparsable',
          file,
          line: error.line,
          message: `${file}: cannot read imports: ${error.message}`,
        });
        continue;
      }
      for (const ref of refs) {
        if (!ref.specifier.startsWith('./') && !ref.specifier.startsWith('../')) continue;
        const target = toPosix(path.posix.normalize(path.posix.join(path.posix.dirname(file), ref.specifier)));
        if (target.startsWith('../')) {
          violations.push({
            rule: 'unresolved',
            file,
            line: ref.line,
            message: `${file}:${ref.line} imports '${ref.specifier}', outside the repository`,
          });
          continue;
        }
        edges.push({ from: file, to: target, line: ref.line, specifier: ref.specifier });
      }
    }
  }
  return { edges, violations };
}

function layerViolations(edges: Edge[]): Violation[] {
  const out: Violation[] = [];
  for (const edge of edges) {
    const layer = layerOf(edge.from);
    const allowed = LAYER_ALLOWED[layer];
    if (allowed !== undefined) {
      const ok = within(edge.to, layer) || allowed.some((folder) => within(edge.to, folder));
      if (!ok) {
        const may = allowed.length === 0 ? 'nothing outside itself' : `only ${[layer, ...allowed].join(', ')}`;
        out.push({
          rule: 'layer',
          file: edge.from,
          line: edge.line,
          message: `${edge.from}:${edge.line} imports ${edge.to}: ${layer}/ may import ${may}`,
        });
      }
    }
    if (within(edge.from, 'services/adapters')) {
      const process = PROCESS_FOLDERS.find((folder) => within(edge.to, folder));
      if (process !== undefined) {
        out.push({
          rule: 'adapter-process',
          file: edge.from,
          line: edge.line,
          message: `${edge.from}:${edge.line} imports ${edge.to}: an adapter never imports the processes (${process})`,
        });
      }
    }
  }
  return out;
}

/** `grep -r "services/" pipelines engine`: the lower layers do not even name the upper one, comments included. */
function servicesTextViolations(root: string): Violation[] {
  const out: Violation[] = [];
  for (const top of ['pipelines', 'engine']) {
    for (const file of listFiles(root, top)) {
      const lines = readFileSync(path.join(root, file), 'utf8').split('\n');
      lines.forEach((text, index) => {
        if (text.includes('services/')) {
          out.push({
            rule: 'services-text',
            file,
            line: index + 1,
            message: `${file}:${index + 1} names services/: ${text.trim()}`,
          });
        }
      });
    }
  }
  return out;
}

/**
 * The cycles of the folder graph: within each strongly connected component of more than one folder, the
 * shortest cycle through each folder not yet on a reported one, each step with the import that makes it.
 */
export function folderCycles(edges: Edge[]): Violation[] {
  // The first import (by file, then line) that makes each folder-to-folder edge, to name it in a report.
  const witness = new Map<string, Map<string, Edge>>();
  const sorted = [...edges].sort((a, b) => a.from.localeCompare(b.from) || a.line - b.line);
  for (const edge of sorted) {
    const a = folderOf(edge.from);
    const b = folderOf(edge.to);
    if (a === b) continue;
    let targets = witness.get(a);
    if (targets === undefined) {
      targets = new Map();
      witness.set(a, targets);
    }
    if (!targets.has(b)) targets.set(b, edge);
  }
  const nodes = [...new Set([...witness.keys(), ...[...witness.values()].flatMap((t) => [...t.keys()])])].sort();
  const next = (node: string): string[] => [...(witness.get(node)?.keys() ?? [])].sort();

  // Tarjan's strongly connected components, iteratively (no recursion depth limit on large graphs).
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const start of nodes) {
    if (index.has(start)) continue;
    const work: { node: string; children: string[]; at: number }[] = [];
    const open = (node: string): void => {
      index.set(node, counter);
      low.set(node, counter);
      counter++;
      stack.push(node);
      onStack.add(node);
      work.push({ node, children: next(node), at: 0 });
    };
    open(start);
    while (work.length > 0) {
      const frame = work[work.length - 1] as (typeof work)[number];
      if (frame.at < frame.children.length) {
        const child = frame.children[frame.at++] as string;
        if (!index.has(child)) open(child);
        else if (onStack.has(child)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(child)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        for (;;) {
          const member = stack.pop() as string;
          onStack.delete(member);
          component.push(member);
          if (member === frame.node) break;
        }
        if (component.length > 1) components.push(component.sort());
      }
    }
  }

  // The shortest cycle through `first` inside one component (breadth-first back to `first`).
  const shortestCycle = (first: string, members: Set<string>): string[] => {
    const previous = new Map<string, string>();
    const queue = [first];
    let closing: string | undefined;
    while (queue.length > 0 && closing === undefined) {
      const node = queue.shift() as string;
      for (const child of next(node)) {
        if (!members.has(child)) continue;
        if (child === first) {
          closing = node;
          break;
        }
        if (!previous.has(child)) {
          previous.set(child, node);
          queue.push(child);
        }
      }
    }
    const cycle = [first];
    for (let node = closing as string; node !== first; node = previous.get(node) as string) cycle.splice(1, 0, node);
    cycle.push(first);
    return cycle;
  };

  // One cycle through each folder of a component that no cycle reported so far passes through, so that every
  // tangle shows up at once rather than one per fix.
  const out: Violation[] = [];
  for (const component of components.sort((a, b) => (a[0] as string).localeCompare(b[0] as string))) {
    const members = new Set(component);
    const covered = new Set<string>();
    for (const member of component) {
      if (covered.has(member)) continue;
      const cycle = shortestCycle(member, members);
      for (const node of cycle) covered.add(node);
      const steps = cycle.slice(0, -1).map((node, i) => witness.get(node)?.get(cycle[i + 1] as string) as Edge);
      const firstEdge = steps[0] as Edge;
      const detail = steps.map((edge) => `  ${edge.from}:${edge.line} imports ${edge.to}`).join('\n');
      out.push({
        rule: 'folder-cycle',
        file: firstEdge.from,
        line: firstEdge.line,
        message: `folder cycle ${cycle.join(' -> ')}\n${detail}`,
      });
    }
  }
  return out;
}

/** Every finding over the repository at `root`, in a stable order. */
export function checkLayers(root: string): Violation[] {
  const { edges, violations } = collectEdges(root);
  return [...violations, ...layerViolations(edges), ...servicesTextViolations(root), ...folderCycles(edges)];
}
