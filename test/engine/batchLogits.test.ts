// Below the batch engine: logits of a row decoded in a batch (left neighbours of other lengths, a wider cache
// stride, rows moved) equal the logits of the same row decoded alone.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SlotDecoder } from '../../src/engine/decoder.js';
import { argmax } from '../../src/engine/sampler.js';
import { createModel } from '../../src/modelgen/create.js';
import { type DecoderSession, openDecoderSession } from '../../src/engine/session.js';
import { makeTinyModel, maxAbsDiff } from './helpers.js';

let fixture: Awaited<ReturnType<typeof makeTinyModel>>;
let session: DecoderSession;

beforeAll(async () => {
  fixture = await makeTinyModel();
  session = await openDecoderSession(fixture.dir, { threads: 1 });
});
afterAll(async () => {
  await session.runner.dispose();
  fixture.cleanup();
});

const rows = [Array.from({ length: 5 }, (_, i) => i + 40), Array.from({ length: 70 }, (_, i) => (i * 11) % 250), Array.from({ length: 21 }, (_, i) => 200 - i)];
const next = [[7, 8, 9, 10], [11, 12, 13, 14], [15, 16, 17, 18]];

it('batched decode logits match single-row logits', async () => {
  const V = session.info.vocabSize;
  const alone: Float32Array[][] = [];
  for (let r = 0; r < rows.length; r++) {
    const d = new SlotDecoder(session, 1, 256);
    await d.extend(0, rows[r] as number[]);
    const steps: Float32Array[] = [];
    for (const t of next[r] as number[]) steps.push(Float32Array.from(await d.decode([t])));
    alone.push(steps);
  }
  const d = new SlotDecoder(session, 4, 256);
  // Fill rows out of order and move one, as the batch engine does when sequences come and go.
  await d.extend(3, rows[0] as number[]);
  d.moveRow(3, 0);
  await d.extend(1, rows[1] as number[]);
  await d.extend(2, rows[2] as number[]);
  let maxDiff = 0;
  for (let s = 0; s < 4; s++) {
    const logits = await d.decode(next.map((n) => n[s] as number));
    for (let r = 0; r < rows.length; r++) maxDiff = Math.max(maxDiff, maxAbsDiff(logits.subarray(r * V, (r + 1) * V), alone[r]?.[s] as Float32Array));
  }
  expect(d.arena.stride).toBeGreaterThan(70);
  expect(maxDiff).toBeLessThan(1e-5);
});

it('rows far apart in length (strides in different 256-slot blocks) stay within float tolerance', async () => {
  const dir = join(fixture.root, 'small');
  await createModel({ preset: 'small', seed: 3, outDir: dir });
  const small = await openDecoderSession(dir, { threads: 1 });
  try {
    const V = small.info.vocabSize;
    const long = [Array.from({ length: 20 }, (_, i) => ((i * 7) % 200) + 5), Array.from({ length: 430 }, (_, i) => ((i * 13) % 3000) + 5)];
    const alone: Float32Array[] = [];
    for (const ids of long) {
      const d = new SlotDecoder(small, 1, 512);
      await d.extend(0, ids);
      alone.push(Float32Array.from(await d.decode([9])));
    }
    const d = new SlotDecoder(small, 2, 512);
    for (let r = 0; r < 2; r++) await d.extend(r, long[r] as number[]);
    const logits = await d.decode([9, 9]);
    for (let r = 0; r < 2; r++) {
      const row = logits.subarray(r * V, (r + 1) * V);
      expect(maxAbsDiff(row, alone[r] as Float32Array)).toBeLessThan(1e-4);
      expect(argmax(row, 0, V)).toBe(argmax(alone[r] as Float32Array, 0, V));
    }
  } finally {
    await small.runner.dispose();
  }
});
