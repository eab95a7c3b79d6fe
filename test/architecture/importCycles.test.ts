// No import cycles in the compiled module graph (dist/, built by `npm test` before vitest runs), and the
// detector itself finds a planted one.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { findImportCycles } from '../../scripts/importCycles.mjs';

const find = findImportCycles as (root: string) => string[][];

describe('import cycles', () => {
  it('the compiled graph under dist/ has none', () => {
    expect(find(fileURLToPath(new URL('../../dist/', import.meta.url)))).toEqual([]);
  });

  it('the detector reports a planted cycle (a -> b -> c -> a) and ignores an acyclic import', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmbench-cycles-'));
    try {
      writeFileSync(join(dir, 'a.js'), "import { b } from './b.js';\nexport const a = 1;\n");
      writeFileSync(join(dir, 'b.js'), "export { c } from './c.js';\nexport const b = 2;\n");
      writeFileSync(join(dir, 'c.js'), "const m = await import('./a.js');\nexport const c = m;\n");
      writeFileSync(join(dir, 'd.js'), "import { a } from './a.js';\nexport const d = a;\n");
      expect(find(dir)).toEqual([['a.js', 'b.js', 'c.js', 'a.js']]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
