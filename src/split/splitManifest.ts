// stages.json: what a split model folder holds (one ONNX file per stage) and how tensors flow between
// stages. Written by splitModel, read by the staged runner.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ModelError } from '../errors.js';

/** File name of the manifest inside a split folder. */
export const STAGES_MANIFEST = 'stages.json';

const names = z.array(z.string());
const stageSchema = z.object({
  index: z.number().int().min(0),
  file: z.string().regex(/^[\w.-]+$/),
  firstLayer: z.number().int().min(0),
  lastLayer: z.number().int().min(0),
  inputs: names,
  outputs: names,
  receives: names,
  sends: names,
  nodes: z.number().int(),
  initializerBytes: z.number().int(),
  fileBytes: z.number().int(),
});

const manifestSchema = z.object({
  format: z.literal('llmbench-stages'),
  version: z.literal(1),
  source: z.object({ dir: z.string(), onnxFile: z.string(), contentSha256: z.string() }),
  numLayers: z.number().int().min(1),
  inputs: names,
  outputs: names,
  stages: z.array(stageSchema).min(1),
  tensors: z.array(z.object({ name: z.string(), elemType: z.number().int(), fromStage: z.number().int(), toStages: z.array(z.number().int()) })),
  sharedInitializers: z.array(z.object({ name: z.string(), bytes: z.number().int(), stages: z.array(z.number().int()) })),
});

/** One stage of a split model. */
export type StageEntry = z.infer<typeof stageSchema>;
/** The manifest of a split model folder. */
export type StagesManifest = z.infer<typeof manifestSchema>;

/** Reads and checks `dir/stages.json`; throws ModelError when it is missing or malformed. */
export function readStagesManifest(dir: string): StagesManifest {
  const path = join(dir, STAGES_MANIFEST);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ModelError(`${path}: cannot read split manifest (${(e as Error).message})`, 'Split the model again (llmbench splits on demand).');
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new ModelError(`${path}: invalid split manifest at ${first?.path.join('.') || '(root)'}: ${first?.message ?? 'unknown problem'}`);
  }
  const m = parsed.data;
  for (const [i, s] of m.stages.entries()) {
    if (s.index !== i) throw new ModelError(`${path}: stage ${i} has index ${s.index}`);
  }
  return m;
}
