// Paths and loaders for the shipped corpus. Resolved from this module's URL so they work both from
// src/ (vitest) and from dist/ (the compiled CLI): both sit two levels below the package root.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HELDOUT_CORPUS, TRAIN_CORPUS } from './corpus.js';

/** Absolute path of data/corpus/ in the installed package. */
export function corpusDir(): string {
  return fileURLToPath(new URL('../../data/corpus/', import.meta.url));
}

const cache = new Map<string, string>();

function load(file: string): string {
  let text = cache.get(file);
  if (text === undefined) {
    text = readFileSync(corpusDir() + file, 'utf8');
    cache.set(file, text);
  }
  return text;
}

/** The shipped training text (data/corpus/train.txt): what tokenizers and weights are fitted to. */
export function loadTrainText(): string {
  return load(TRAIN_CORPUS.file);
}

/** The shipped held-out text (data/corpus/heldout.txt): for perplexity only, never for fitting. */
export function loadHeldoutText(): string {
  return load(HELDOUT_CORPUS.file);
}
