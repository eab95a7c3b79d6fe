// Finds import cycles among the .js files under a folder: every strongly connected component with more
// than one file (or a file importing itself), each reported as one cycle through it.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const IMPORT = /(?:^|[;\s])(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|^\s*import\s*['"](\.{1,2}\/[^'"]+)['"]/gm;

function jsFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? jsFiles(p) : p.endsWith('.js') ? [p] : [];
  });
}

/** Cycles as lists of paths relative to `root` (first file repeated at the end). */
export function findImportCycles(root) {
  const files = jsFiles(root);
  const known = new Set(files);
  const edges = new Map(files.map((f) => [f, []]));
  for (const f of files) {
    for (const m of readFileSync(f, 'utf8').matchAll(IMPORT)) {
      const target = resolve(dirname(f), m[1] ?? m[2] ?? m[3]);
      if (known.has(target)) edges.get(f).push(target);
    }
  }
  // Tarjan's strongly connected components.
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const sccs = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index);
    index += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || edges.get(v).includes(v)) sccs.push(comp);
    }
  };
  for (const f of files) if (!idx.has(f)) visit(f);
  // One concrete cycle per component: walk edges inside it from its first file until a file repeats.
  return sccs.map((comp) => {
    const inComp = new Set(comp);
    const path = [comp[0]];
    const seen = new Map([[comp[0], 0]]);
    for (;;) {
      const next = edges.get(path.at(-1)).find((w) => inComp.has(w));
      if (seen.has(next)) {
        // Start at the alphabetically first file so a cycle always reads the same way.
        const cycle = path.slice(seen.get(next)).map((p) => relative(root, p));
        const at = cycle.indexOf([...cycle].sort()[0]);
        const rotated = [...cycle.slice(at), ...cycle.slice(0, at)];
        return [...rotated, rotated[0]];
      }
      seen.set(next, path.length);
      path.push(next);
    }
  });
}
