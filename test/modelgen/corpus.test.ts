import { describe, expect, it } from 'vitest';
import { HELDOUT_CORPUS, TRAIN_CORPUS, corpusTopicNames, generateCorpus } from '../../src/modelgen/corpus.js';
import { loadHeldoutText, loadTrainText } from '../../src/modelgen/corpusFiles.js';
import { article } from '../../src/modelgen/corpusGrammar.js';

describe('shipped corpus', () => {
  it('data/corpus files are exactly what the generator produces', () => {
    expect(loadTrainText()).toBe(generateCorpus(TRAIN_CORPUS.seed, TRAIN_CORPUS.targetChars));
    expect(loadHeldoutText()).toBe(generateCorpus(HELDOUT_CORPUS.seed, HELDOUT_CORPUS.targetChars));
  });

  it('has the intended sizes and shapes', () => {
    const train = loadTrainText();
    const held = loadHeldoutText();
    expect(Buffer.byteLength(train)).toBeGreaterThan(1_000_000);
    expect(Buffer.byteLength(train)).toBeLessThan(2_000_000);
    expect(Buffer.byteLength(held)).toBeGreaterThan(50_000);
    expect(Buffer.byteLength(held)).toBeLessThan(100_000);
    for (const text of [train, held]) {
      expect(text).toMatch(/\nUser: [^\n]+\nAssistant: /);
      expect(text).toMatch(/\n1\. [A-Z]/);
      expect(text).toMatch(/\$\d+\.\d\d/);
      expect(text).toContain('°C');
      expect(text).not.toContain('{');
      expect(text.endsWith('\n')).toBe(true);
    }
    expect(corpusTopicNames().length).toBeGreaterThanOrEqual(12);
  });

  it('held-out documents are new text, not copies of training documents', () => {
    const trainDocs = new Set(loadTrainText().split('\n\n'));
    const heldDocs = loadHeldoutText().split('\n\n').filter((d) => d.length > 80);
    const copied = heldDocs.filter((d) => trainDocs.has(d)).length;
    expect(heldDocs.length).toBeGreaterThan(200);
    expect(copied / heldDocs.length).toBeLessThan(0.01);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    expect(generateCorpus(5, 20_000)).toBe(generateCorpus(5, 20_000));
    expect(generateCorpus(5, 20_000)).not.toBe(generateCorpus(6, 20_000));
  });

  it('uses a/an by sound', () => {
    expect([article('apple'), article('hour'), article('user'), article('cake'), article('Oven')]).toEqual(['an', 'an', 'a', 'a', 'an']);
  });
});
