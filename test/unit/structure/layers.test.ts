/**
 * The layer rules of src/ (src/README.md), checked on the import graph read from the source files, so
 * a change that crosses a layer or closes an import cycle fails CI instead of growing into the design.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SRC = join(ROOT, 'src');

/** What each layer may import besides itself. `shared`: src/errors.ts, src/config-error.ts, src/logging.ts. */
const ALLOWED: Record<string, readonly string[]> = {
  contracts: [],
  shared: ['shared'],
  runtime: ['contracts', 'shared'],
  kernels: ['runtime', 'contracts', 'shared'],
  pipeline: ['kernels', 'runtime', 'contracts', 'shared'],
  sources: ['runtime', 'contracts', 'shared'],
  sinks: ['runtime', 'contracts', 'shared'],
  daemon: ['pipeline', 'kernels', 'runtime', 'sources', 'sinks', 'contracts', 'shared'],
};

/** Packages only one place may use: the connector that owns the client. */
const PACKAGE_OWNERS: Record<string, readonly string[]> = {
  kafkajs: ['src/sources/kafka/', 'src/sinks/kafka/'],
  ioredis: ['src/sinks/redis/'],
  '@clickhouse/client': ['src/sinks/clickhouse/'],
  '@node-rs/crc32': ['src/sinks/kafka/'],
};

function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return listTs(p);
    return /\.c?ts$/.test(e.name) ? [p] : [];
  });
}

/** Block and line comments removed, strings kept (a comment may name a module it does not import). */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/[^\n]*/g, '$1');
}

const STATIC = /^\s*(?:import|export)\s+(?:type\s+)?(?:[\w*{][^;]*?\s+from\s+)?['"]([^'"]+)['"]/gms;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

interface Edge { from: string; to: string; spec: string }

function importsOf(file: string): { local: string[]; packages: string[] } {
  const text = withoutComments(readFileSync(file, 'utf8'));
  const specs = [...text.matchAll(STATIC), ...text.matchAll(DYNAMIC)].map((m) => m[1]);
  const local: string[] = [];
  const packages: string[] = [];
  for (const spec of specs) {
    if (spec.startsWith('.')) local.push(resolve(dirname(file), spec).replace(/\.js$/, '.ts'));
    else if (!spec.startsWith('node:')) packages.push(spec);
  }
  return { local, packages };
}

function layerOf(file: string): string {
  const rel = relative(SRC, file).split('/');
  if (rel.length === 1) return ['errors.ts', 'config-error.ts', 'logging.ts'].includes(rel[0]) ? 'shared' : rel[0];
  return rel[0];
}

const files = listTs(SRC);
const edges: Edge[] = files.flatMap((from) => importsOf(from).local.map((to) => ({ from, to, spec: relative(SRC, to) })));
const rel = (f: string): string => relative(ROOT, f);

/** Tarjan's strongly connected components with more than one file (or a file importing itself). */
function cycles(): string[][] {
  const out = new Map<string, string[]>();
  for (const e of edges) (out.get(e.from) ?? out.set(e.from, []).get(e.from)!).push(e.to);
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of out.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (out.get(v) ?? []).includes(v)) found.push(scc.map(rel).sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return found;
}

describe('src/ layer rules', () => {
  it('reads a real import graph (the check below is not vacuous)', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(edges.length).toBeGreaterThan(300);
    // Known arrows that must be seen: a layer above reaching the one below.
    expect(edges.some((e) => rel(e.from) === 'src/pipeline/pipeline.ts' && rel(e.to) === 'src/runtime/runtime.ts')).toBe(true);
    expect(edges.some((e) => rel(e.from) === 'src/daemon/daemon.ts' && rel(e.to) === 'src/pipeline/pipeline.ts')).toBe(true);
  });

  it('every layer imports only the layers below it', () => {
    const bad = edges
      .filter((e) => {
        const a = layerOf(e.from);
        const b = layerOf(e.to);
        return a !== b && !(ALLOWED[a] ?? []).includes(b);
      })
      .map((e) => `${rel(e.from)} -> ${rel(e.to)} (${layerOf(e.from)} may import ${(ALLOWED[layerOf(e.from)] ?? []).join(', ') || 'nothing'})`);
    expect(bad).toEqual([]);
  });

  it('every import names a file that exists', () => {
    const names = new Set(files);
    expect(edges.filter((e) => !names.has(e.to)).map((e) => `${rel(e.from)} -> ${rel(e.to)}`)).toEqual([]);
  });

  it('has no import cycle', () => {
    expect(cycles()).toEqual([]);
  });

  it('client packages are imported only by the connector that owns them', () => {
    const bad: string[] = [];
    for (const f of files) {
      for (const pkg of importsOf(f).packages) {
        const owners = PACKAGE_OWNERS[pkg];
        if (owners && !owners.some((o) => rel(f).startsWith(o))) bad.push(`${rel(f)} imports ${pkg}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('the daemon tests no connector class (the source and sink contracts carry what it needs)', () => {
    const bad = files
      .filter((f) => layerOf(f) === 'daemon')
      .flatMap((f) => [...withoutComments(readFileSync(f, 'utf8')).matchAll(/instanceof\s+(\w+(?:Source|Sink|Client))\b/g)]
        .map((m) => `${rel(f)}: instanceof ${m[1]}`));
    expect(bad).toEqual([]);
  });

  it('piscina pools are made only by fixedThreadPool, whose task file is CommonJS (task-module-loader.cts says why)', () => {
    const makers = files.filter((f) => /\bnew\s+Piscina\s*\(/.test(withoutComments(readFileSync(f, 'utf8')))).map(rel);
    expect(makers).toEqual(['src/runtime/worker-path.ts']);
    expect(files.map(rel)).toContain('src/runtime/task-module-loader.cts');
  });

  it('every source file has fewer than 400 lines', () => {
    const rust = readdirSync(join(ROOT, 'native-bindings/src')).filter((n) => n.endsWith('.rs')).map((n) => join(ROOT, 'native-bindings/src', n));
    const long = [...files, ...rust]
      .map((f) => ({ f: rel(f), lines: readFileSync(f, 'utf8').split('\n').length - 1 }))
      .filter((x) => x.lines >= 400)
      .map((x) => `${x.f}: ${x.lines} lines`);
    expect(long).toEqual([]);
  });
});
