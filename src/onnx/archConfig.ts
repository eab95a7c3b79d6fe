// Which Hugging Face architectures llmbench serves, and the config.json fields of the llama family it reads
// (rope_theta, rope_scaling, head_dim, sliding_window). The ONNX graph carries the rotary tables and norms,
// so most fields only need to be well-formed; the ones refused are those whose exported behaviour depends on
// the sequence length the graph sees, which in llmbench's slot KV cache is the cache stride, not the row's
// true length (length-switched rope scaling, sliding windows applied by a plain-ops mask).
import { ModelError } from '../errors.js';
import type { ModelInfo } from '../types.js';

/** model_type values that map onto the llama family (RMSNorm, RoPE, grouped KV heads; details in the graph). */
export const LLAMA_FAMILY = ['llama', 'mistral', 'qwen2', 'qwen3', 'phi3', 'gemma'] as const;

/** rope_scaling types whose frequencies are fixed at export time. */
export const STATIC_ROPE_SCALING = ['default', 'linear', 'llama3', 'yarn'];

/** The architecture fields read from config.json. */
export interface ArchitectureFields {
  modelType: string;
  ropeTheta: number | null;
  ropeScalingType: string | null;
  headDim: number | null;
  /** Active sliding-window length, or null when the model attends to the whole context. */
  slidingWindow: number | null;
}

/** The engine architecture for a model_type, or a ModelError naming the field and the supported values. */
export function checkArchitecture(modelType: string, where: string, field = 'model_type'): ModelInfo['architecture'] {
  if (modelType === 'gpt2') return 'gpt2';
  if ((LLAMA_FAMILY as readonly string[]).includes(modelType)) return 'llama';
  throw new ModelError(`${where}: ${field} "${modelType}" is not supported`, `Supported: gpt2, ${LLAMA_FAMILY.join(', ')}.`);
}

/**
 * Reads and checks the llama-family fields of a config.json. `contextTokens` is the context llmbench will
 * use (the model's maximum positions): a sliding window shorter than it is refused for graphs whose mask is
 * built from plain ops (optimum exports), since the window would be measured in cache slots.
 */
export function readArchitectureFields(cfg: Record<string, unknown>, where: string, contextTokens: number): ArchitectureFields {
  const modelType = String(cfg.model_type ?? '');
  checkArchitecture(modelType, where);
  const ropeTheta = cfg.rope_theta;
  if (ropeTheta !== undefined && ropeTheta !== null && !(typeof ropeTheta === 'number' && ropeTheta > 0)) {
    throw new ModelError(`${where}: rope_theta must be a positive number, got ${JSON.stringify(ropeTheta)}`);
  }
  const headDim = cfg.head_dim;
  if (headDim !== undefined && headDim !== null && !(typeof headDim === 'number' && Number.isInteger(headDim) && headDim > 0)) {
    throw new ModelError(`${where}: head_dim must be a positive integer, got ${JSON.stringify(headDim)}`);
  }
  let ropeScalingType: string | null = null;
  const scaling = cfg.rope_scaling;
  if (scaling !== undefined && scaling !== null) {
    if (typeof scaling !== 'object' || Array.isArray(scaling)) throw new ModelError(`${where}: rope_scaling must be an object or null, got ${JSON.stringify(scaling)}`);
    const s = scaling as Record<string, unknown>;
    const type = s.rope_type ?? s.type;
    if (typeof type !== 'string') throw new ModelError(`${where}: rope_scaling has no "rope_type" (or "type")`);
    if (!STATIC_ROPE_SCALING.includes(type)) {
      throw new ModelError(
        `${where}: rope_scaling.rope_type "${type}" is not supported`,
        `Its rotary frequencies depend on the sequence length the graph sees, which llmbench's KV cache pads. Supported: ${STATIC_ROPE_SCALING.join(', ')}.`,
      );
    }
    if (type !== 'default' && !(typeof s.factor === 'number' && s.factor > 0)) throw new ModelError(`${where}: rope_scaling.factor must be a positive number for rope_type "${type}", got ${JSON.stringify(s.factor)}`);
    ropeScalingType = type;
  }
  // qwen2/qwen3 carry sliding_window but apply it only with use_sliding_window.
  const windowOn = cfg.use_sliding_window === undefined ? true : cfg.use_sliding_window === true;
  const window = cfg.sliding_window;
  let slidingWindow: number | null = null;
  if (windowOn && window !== undefined && window !== null) {
    if (!(typeof window === 'number' && Number.isInteger(window) && window > 0)) throw new ModelError(`${where}: sliding_window must be a positive integer or null, got ${JSON.stringify(window)}`);
    if (window < contextTokens) {
      throw new ModelError(
        `${where}: sliding_window ${window} is shorter than the context in use (${contextTokens} tokens)`,
        'llmbench serves sliding-window models only as onnxruntime-genai model-builder exports (GroupQueryAttention applies the window per row); for an optimum export set sliding_window to null or at least the context (the model then attends to everything).',
      );
    }
    slidingWindow = window;
  }
  return { modelType, ropeTheta: typeof ropeTheta === 'number' ? ropeTheta : null, ropeScalingType, headDim: typeof headDim === 'number' ? headDim : null, slidingWindow };
}
