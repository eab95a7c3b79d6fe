// Model quality beside the speed figures: each quantized pipeline against its fp32 source, and a fallback
// model against the primary. Pipelines serving the same model share one evaluation.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateModel } from '../eval/eval.js';
import { resolveQuantizedModelDir } from '../quantize/quantize.js';
import { resolveModelDir } from '../modelgen/resolve.js';
import type { PipelineResult, QualityReport, QuantMethod } from '../types.js';
import type { PreparedPipeline } from './plan/prepare.js';

function sameFile(a: string, b: string): boolean {
  try {
    return readFileSync(a).equals(readFileSync(b));
  } catch {
    return false;
  }
}

/** The fallback model a pipeline may answer from, if it has one: source and quantization. */
function fallbackModelOf(p: PreparedPipeline): { source: string; quantize: QuantMethod | null } | null {
  if (p.spec.kind !== 'local') return null;
  const f = p.spec.serving.deadline?.fallback;
  if (f?.kind === 'model') return { source: f.source, quantize: f.quantize };
  return p.spec.balancer.fallback?.model ?? null;
}

/** Evaluates the fallback model; against the primary when they share a tokenizer (then agreement is measured too). */
export async function fallbackQualityOf(p: PreparedPipeline, progress: (m: string) => void): Promise<PipelineResult['fallbackQuality']> {
  const fb = fallbackModelOf(p);
  if (!fb) return undefined;
  const model = `${fb.source}${fb.quantize ? ` (${fb.quantize})` : ''}`;
  progress(`[${p.spec.name}] evaluating the fallback model ${model}`);
  try {
    const dir = fb.quantize ? await resolveQuantizedModelDir(fb.source, fb.quantize, {}) : await resolveModelDir(fb.source);
    const sameTokenizer = p.modelDir !== null && sameFile(join(dir, 'tokenizer.json'), join(p.modelDir, 'tokenizer.json'));
    const report = await evaluateModel(dir, sameTokenizer ? p.modelDir : null, { maxEvalTokens: 256 });
    return { model, report, note: sameTokenizer ? 'vs the primary model' : 'alone: its tokenizer differs from the primary model, so no agreement is measured and perplexities are per own token' };
  } catch (e) {
    return { model, report: null, note: `evaluation failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}

export async function qualityOf(p: PreparedPipeline, progress: (m: string) => void): Promise<QualityReport | null> {
  if (p.spec.kind !== 'local' || p.spec.model.quantize === null || !p.modelDir || !p.sourceDir) return null;
  progress(`[${p.spec.name}] evaluating quality vs the fp32 source`);
  try {
    return await evaluateModel(p.modelDir, p.sourceDir, { maxEvalTokens: 256 });
  } catch (e) {
    progress(`[${p.spec.name}] quality evaluation failed: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  }
}


/** Quality of every pipeline (null where there is nothing to compare), stopping early when interrupted. */
export async function assessQuality(
  prepared: readonly PreparedPipeline[],
  progress: (m: string) => void,
  signal: AbortSignal,
): Promise<Map<string, { quality: QualityReport | null; fallback: PipelineResult['fallbackQuality'] }>> {
  const out = new Map<string, { quality: QualityReport | null; fallback: PipelineResult['fallbackQuality'] }>();
  const byModel = new Map<string, QualityReport | null>();
  for (const p of prepared) {
    if (signal.aborted) break;
    const key = `${p.modelDir ?? ''}\u0000${p.sourceDir ?? ''}`;
    if (!byModel.has(key)) byModel.set(key, await qualityOf(p, progress));
    out.set(p.spec.name, { quality: byModel.get(key) ?? null, fallback: await fallbackQualityOf(p, progress) });
  }
  return out;
}
