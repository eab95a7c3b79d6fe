// Prompt files a workload can read: plain JSONL ({"prompt"} or {"messages"}, optional "max_tokens" or
// "output_tokens"), and ShareGPT conversations (a JSON array or JSONL of {"conversations": [{"from", "value"}]}),
// where the first human turn is the prompt and the reply that follows sets the output length, as vLLM's
// benchmark samples ShareGPT.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ScenarioError } from '../../errors.js';
import type { TokenCounter } from '../load/tokenCounter.js';

/** One request read from a file; `maxTokens` null when the file does not say. */
export interface DatasetEntry {
  prompt: string | null;
  messages: Array<{ role: string; content: string }> | null;
  maxTokens: number | null;
}

const plainLine = z
  .object({
    prompt: z.string().min(1).optional(),
    messages: z.array(z.object({ role: z.string().min(1), content: z.string() })).min(1).optional(),
    max_tokens: z.number().int().min(1).optional(),
    output_tokens: z.number().int().min(1).optional(),
  })
  .refine((l) => (l.prompt === undefined) !== (l.messages === undefined), { error: 'needs exactly one of "prompt" or "messages"' });

const shareGptLine = z.object({
  conversations: z.array(z.object({ from: z.string(), value: z.string() }), { error: 'must be a list of {"from", "value"} turns' }),
});

const HUMAN = new Set(['human', 'user']);
const ASSISTANT = new Set(['gpt', 'assistant', 'chatgpt', 'bard', 'bing']);

/** Tokens of a reply: the tokenizer's count, or 1 per 0.75 words when there is none (and the report says so). */
function replyTokens(text: string, tok: TokenCounter | null): number {
  if (tok) return Math.max(1, tok.count(text));
  return Math.max(1, Math.round(text.split(/\s+/).filter(Boolean).length / 0.75));
}

/** Reads a JSONL or ShareGPT file; every problem is listed with its line (or array index). */
export function readDataset(path: string, tok: TokenCounter | null): DatasetEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ScenarioError(path, [`workload.jsonl: cannot read the file (${(e as NodeJS.ErrnoException).code ?? String(e)})`]);
  }
  const problems: string[] = [];
  const records: Array<{ where: string; data: unknown }> = [];
  if (text.trimStart().startsWith('[')) {
    let arr: unknown;
    try {
      arr = JSON.parse(text);
    } catch {
      throw new ScenarioError(path, ['workload.jsonl: starts with "[" but is not a valid JSON array']);
    }
    (arr as unknown[]).forEach((data, i) => records.push({ where: `entry ${i}`, data }));
  } else {
    text.split('\n').forEach((raw, i) => {
      if (raw.trim() === '' || problems.length >= 20) return;
      try {
        records.push({ where: `line ${i + 1}`, data: JSON.parse(raw) });
      } catch {
        problems.push(`workload.jsonl line ${i + 1}: not valid JSON`);
      }
    });
  }
  const out: DatasetEntry[] = [];
  let tooShort = 0;
  for (const { where, data } of records) {
    if (problems.length >= 20) break;
    if (data !== null && typeof data === 'object' && 'conversations' in data) {
      const r = shareGptLine.safeParse(data);
      if (!r.success) {
        problems.push(`workload.jsonl ${where}: conversations ${r.error.issues[0]?.message ?? 'invalid'}`);
        continue;
      }
      const turns = r.data.conversations;
      const q = turns.findIndex((t) => HUMAN.has(t.from.toLowerCase()) && t.value.trim() !== '');
      const a = turns[q + 1];
      // Like vLLM's ShareGPT sampling: a conversation needs a prompt and a reply to size the output.
      if (q < 0 || !a || !ASSISTANT.has(a.from.toLowerCase())) {
        tooShort++;
        continue;
      }
      out.push({ prompt: (turns[q] as { value: string }).value, messages: null, maxTokens: replyTokens(a.value, tok) });
      continue;
    }
    const r = plainLine.safeParse(data);
    if (r.success) out.push({ prompt: r.data.prompt ?? null, messages: r.data.messages ?? null, maxTokens: r.data.max_tokens ?? r.data.output_tokens ?? null });
    else problems.push(`workload.jsonl ${where}: ${r.error.issues.map((x) => `${x.path.join('.') || 'line'} ${x.message}`).join('; ')}`);
  }
  if (out.length === 0 && problems.length === 0) {
    problems.push(tooShort > 0 ? `workload.jsonl: none of the ${tooShort} conversations has a human turn followed by a reply` : 'workload.jsonl: the file has no requests');
  }
  if (problems.length > 0) throw new ScenarioError(path, problems);
  return out;
}
