// The committed fixtures are exactly what the seeded generator produces (LLMBENCH_WRITE_FIXTURES=1 rewrites them).
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateResult } from '../../src/result/readResult.js';
import { generateStudyResult, generateSweepResult } from '../fixtures/generateResult.js';
import { STUDY_FIXTURE, SWEEP_FIXTURE } from '../fixtures/paths.js';

describe('result fixtures', () => {
  for (const [path, gen] of [[STUDY_FIXTURE, generateStudyResult], [SWEEP_FIXTURE, generateSweepResult]] as const) {
    it(`${path.split('/').pop()} matches the seeded generator and validates`, () => {
      const generated = gen();
      if (process.env['LLMBENCH_WRITE_FIXTURES'] === '1') writeFileSync(path, `${JSON.stringify(generated)}\n`);
      const committed: unknown = JSON.parse(readFileSync(path, 'utf8'));
      expect(committed).toEqual(JSON.parse(JSON.stringify(generated)));
      expect(validateResult(committed, path).pipelines.length).toBeGreaterThan(1);
    });
  }
});
