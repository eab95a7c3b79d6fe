// Writes data/corpus/train.txt and data/corpus/heldout.txt from the deterministic generator in
// src/modelgen/corpus.ts. Run after `npx tsc -p .` (it imports the compiled module); the files are
// committed, and test/modelgen checks they still equal what the generator produces.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateCorpus, HELDOUT_CORPUS, TRAIN_CORPUS } from '../dist/modelgen/corpus.js';

const dir = fileURLToPath(new URL('../data/corpus/', import.meta.url));
mkdirSync(dir, { recursive: true });
for (const spec of [TRAIN_CORPUS, HELDOUT_CORPUS]) {
  const text = generateCorpus(spec.seed, spec.targetChars);
  writeFileSync(dir + spec.file, text);
  console.log(`${spec.file}: ${Buffer.byteLength(text)} bytes`);
}
