// npm run lint:cycles — import cycles in the compiled graph (dist/**/*.js, relative static and dynamic
// imports; type-only imports are erased by tsc and cannot form a runtime cycle). Exit 1 when any exists.
import { findImportCycles } from './importCycles.mjs';

const cycles = findImportCycles(new URL('../dist/', import.meta.url).pathname);
if (cycles.length === 0) {
  console.log('lint:cycles: no import cycles in dist/');
} else {
  console.error(`lint:cycles: ${cycles.length} import cycle(s):`);
  for (const c of cycles) console.error(`  ${c.join(' -> ')}`);
  process.exit(1);
}
