// The KV bound a local pipeline's servers get when the scenario leaves serving.maxContext out: the workload's
// longest request (prompt as the server will see it + max_tokens), with headroom, capped by the model's context.
// Why: a server sized to the model's full context would let one runaway request take memory the benchmark never
// needs; a bound that is too tight would reject the workload's own requests (400), so it is counted with the
// pipeline's own tokenizer and chat template.
import { renderChatPrompt } from '../../server/chatTemplate.js';
import type { ChatMessage } from '../../server/requestSchemas.js';
import type { LengthDist, LocalPipelineSpec } from '../../scenarios/types.js';
import type { PreparedPipeline } from './prepare.js';
import type { TokenCounter } from '../load/tokenCounter.js';
import { uniquePrefix, type Workload } from './workload.js';

/** A dataset message as the server parses it (roles it does not know are rejected there; counted as user here). */
function asChatMessage(m: { role: string; content: string }): ChatMessage {
  const roles: ReadonlyArray<ChatMessage['role']> = ['system', 'user', 'assistant', 'developer'];
  return { role: roles.find((r) => r === m.role) ?? 'user', content: m.content };
}

/** Largest value a length distribution can draw, or null when it has no upper bound. */
function distMax(d: LengthDist): number | null {
  return d.dist === 'fixed' ? d.value : d.dist === 'uniform' ? d.max : d.max;
}

/**
 * Tokens the longest request of `workload` can need on a server whose tokenizer is `tok`. Requests past the
 * built ones get a fresh prompt (synthetic: drawn from the same bounded distribution) or a unique prefix
 * (datasets), both counted here.
 */
export function workloadContextNeed(workload: Workload, tok: TokenCounter, promptMax: number | null, outputMax: number | null): number {
  let prompt = 0;
  let output = 0;
  for (const r of workload.requests) {
    const text = workload.api === 'chat' ? renderChatPrompt(r.messages.map(asChatMessage)) : r.prompt;
    prompt = Math.max(prompt, tok.count(text));
    output = Math.max(output, r.maxTokens);
  }
  if (promptMax !== null) prompt = Math.max(prompt, promptMax + (workload.api === 'chat' ? tok.count(renderChatPrompt([{ role: 'user', content: '' }])) : 0));
  if (outputMax !== null) output = Math.max(output, outputMax);
  if (!workload.reusePrompts) prompt += tok.count(uniquePrefix(Number.MAX_SAFE_INTEGER));
  return prompt + output;
}

/**
 * The default bound: the need plus an eighth (at least 16 tokens; synthetic prompts can re-tokenize a few tokens
 * long), rounded up to the KV arena's 64-slot stride step (so the headroom costs no memory), capped by the model.
 */
export function defaultMaxContext(need: number, modelPositions: number): number {
  return Math.min(modelPositions, Math.ceil((need + Math.max(16, need >> 3)) / 64) * 64);
}

/** `prepared` with serving.maxContext filled in for local pipelines that left it out. */
export function withWorkloadContext(prepared: PreparedPipeline[], workload: Workload, spec: { promptTokens: LengthDist | null; outputTokens: LengthDist }, tokenizerFor: (dir: string) => TokenCounter): PreparedPipeline[] {
  return prepared.map((p) => {
    if (p.spec.kind !== 'local' || p.spec.serving.maxContext !== null || p.tokenizerDir === null || p.maxPositions === null) return p;
    const need = workloadContextNeed(workload, tokenizerFor(p.tokenizerDir), spec.promptTokens ? distMax(spec.promptTokens) : null, distMax(spec.outputTokens));
    const local: LocalPipelineSpec = { ...p.spec, serving: { ...p.spec.serving, maxContext: defaultMaxContext(need, p.maxPositions) } };
    return { ...p, spec: local };
  });
}
