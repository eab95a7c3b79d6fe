// Pipeline artifacts before anything is launched: the model folder a local pipeline serves (generated
// preset, quantized copy; both cached by the model module), its size and hash, and its tokenizer.
import { hashModelFiles, resolveQuantizedModelDir } from '../../quantize/quantize.js';
import { readModelFolder } from '../../onnx/loader.js';
import { resolveModelDir } from '../../modelgen/resolve.js';
import type { PipelineSpec } from '../../scenarios/types.js';

/** A pipeline with its model artifacts resolved. */
export interface PreparedPipeline {
  spec: PipelineSpec;
  /** Folder the servers load (the quantized copy when quantizing); null for external targets. */
  modelDir: string | null;
  /** Unquantized source folder (reference for quality); null for external targets. */
  sourceDir: string | null;
  modelFileBytes: number | null;
  /** sha256 of the served ONNX file(s). */
  modelSha256: string | null;
  /** Folder whose tokenizer counts tokens for this pipeline, or null. */
  tokenizerDir: string | null;
  maxPositions: number | null;
}

/** Resolves (and on first use builds) what a pipeline needs before it can be launched. */
export async function preparePipeline(spec: PipelineSpec, onProgress: (msg: string) => void): Promise<PreparedPipeline> {
  if (spec.kind === 'external') {
    const tokenizerDir = spec.target.tokenizer ? await resolveModelDir(spec.target.tokenizer, onProgress) : null;
    return { spec, modelDir: null, sourceDir: null, modelFileBytes: null, modelSha256: null, tokenizerDir, maxPositions: null };
  }
  const sourceDir = await resolveModelDir(spec.model.source, onProgress);
  const modelDir = spec.model.quantize
    ? await resolveQuantizedModelDir(spec.model.source, spec.model.quantize, { onProgress, ...(spec.model.blockSize ? { blockSize: spec.model.blockSize } : {}) })
    : sourceDir;
  const info = readModelFolder(modelDir, spec.model.variant);
  return {
    spec,
    modelDir,
    sourceDir,
    modelFileBytes: info.fileBytes,
    modelSha256: await hashModelFiles(info.onnxPath),
    tokenizerDir: modelDir,
    maxPositions: info.maxPositions,
  };
}
