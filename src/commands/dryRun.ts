// `llmbench run --dry-run`: everything a run decides before its first request (validated scenario, workload,
// load plan, request bodies), printed, with nothing sent and nothing started. Model presets are not generated:
// a tokenizer is used only when it is already on disk.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SEED, presetCacheDir } from '../modelgen/resolve.js';
import { isPresetName } from '../modelgen/presets.js';
import type { Scenario } from '../scenarios/types.js';
import { planLevels } from '../runners/plan/schedule.js';
import { loadTokenCounter, type TokenCounter } from '../runners/load/tokenCounter.js';
import { apiPath, buildWorkload, requestBody } from '../runners/plan/workload.js';

/** A tokenizer folder or file that exists now, without generating anything. */
function tokenizerOnDisk(source: string | null): string | null {
  if (source === null) return null;
  const [name, seed] = source.split('@') as [string, string | undefined];
  if (!existsSync(source) && isPresetName(name)) {
    const dir = presetCacheDir(name, seed === undefined ? DEFAULT_SEED : Number(seed));
    return existsSync(join(dir, 'tokenizer.json')) ? dir : null;
  }
  return existsSync(source) ? source : null;
}

function loadDescription(s: Scenario): string {
  const l = s.load;
  const seconds = `${(l.durationMs / 1000).toFixed(l.durationMs % 1000 === 0 ? 0 : 1)} s`;
  const bounds = l.requests !== null ? `${l.requests} requests or ${seconds}, whichever comes first` : `for ${seconds}`;
  switch (l.profile) {
    case 'concurrency':
      return `closed loop, ${l.concurrency} concurrent users; ${bounds}`;
    case 'constant':
    case 'poisson':
      return `open loop, ${l.profile} arrivals at ${l.rate} req/s${l.maxConcurrency !== null ? `, at most ${l.maxConcurrency} in flight` : ''}; ${bounds}`;
    case 'sweep':
      return `sweep over ${l.sweep?.over} levels ${l.sweep?.levels.join(', ')}; each ${bounds}`;
  }
}

/** The plan of a run as text. */
export function dryRunPlan(s: Scenario): string {
  const first = s.pipelines.find((p) => p.baseline) ?? s.pipelines[0];
  const tokSource = first?.kind === 'external' ? first.target.tokenizer : first?.kind === 'local' ? first.model.source : null;
  const tokDir = tokenizerOnDisk(tokSource ?? null);
  let tok: TokenCounter | null = null;
  if (tokDir !== null) tok = loadTokenCounter(tokDir);
  const w = buildWorkload(s.workload, s.seed, tok);
  const lines: string[] = [`dry run of scenario ${s.name} (${s.source}): nothing is sent, nothing is started`, ''];
  lines.push('pipelines:');
  for (const p of s.pipelines) {
    const role = p.baseline ? 'baseline' : 'variant';
    if (p.kind === 'external') {
      const extra = p.target.extraBody ? `, extra body ${JSON.stringify(p.target.extraBody)}` : '';
      lines.push(`  ${p.name} (${role}): external ${p.target.url}${p.target.allowRemote ? ' (remote allowed)' : ''}, model ${p.target.model ?? '(the server\'s first)'}${extra}`);
    } else {
      lines.push(`  ${p.name} (${role}): local ${p.model.source}${p.model.quantize ? ` ${p.model.quantize}` : ''}, ${p.serving.replicas} replica(s)${p.serving.replicaMode === 'shared' ? ' in one process (shared weights)' : ''}, balancer ${p.balancer.kind}`);
    }
  }
  const prompts = w.reusePrompts ? `${w.requests.length} prompts reused in turn` : 'a distinct prompt for every request';
  const sizes = w.tokenizer ? `lengths in tokens of ${w.tokenizer}` : 'lengths estimated (no tokenizer on disk: 0.75 words per token)';
  lines.push('', `workload: ${s.workload.kind}, api ${w.api}${w.stream ? ', streamed' : ''}; ${prompts}; ${sizes}${w.fixedOutput ? '; fixed output length (ignore_eos + min_tokens)' : ''}`);
  lines.push(`  sha256 ${w.sha256}`);
  lines.push('', `load: ${loadDescription(s)}; ${s.load.warmupRequests} warm-up requests first`);
  for (const { level, plan } of planLevels(s.load, s.seed)) {
    const what = plan.kind === 'open' ? `${plan.arrivalsMs.length} requests scheduled` : `up to ${plan.maxRequests === 1_000_000 ? 'the duration' : `${plan.maxRequests} requests`}`;
    lines.push(`  ${level !== null ? `level ${level}: ` : ''}${what}`);
  }
  if (s.repeat > 1) lines.push(`  every pipeline ${s.repeat} times, interleaved`);
  if (s.gates.length > 0) lines.push('', `gates: ${s.gates.join('; ')}`);
  const req = w.at(0);
  const body = requestBody(req, w.api, w.stream, first?.kind === 'external' ? first.target.model : null, {
    extraBody: first?.kind === 'external' ? first.target.extraBody : null,
    fixedOutput: w.fixedOutput,
  });
  const base = first?.kind === 'external' ? first.target.url : '<local server>';
  lines.push('', `first request: POST ${base}${apiPath(w.api)} ${shortenedBody(body)} (${body.length} bytes)`);
  return `${lines.join('\n')}\n`;
}

/** The body with long prompt text cut in the middle, so every other field stays visible. */
function shortenedBody(body: string): string {
  const cut = (t: string): string => (t.length > 160 ? `${t.slice(0, 120)}…${t.slice(-30)}` : t);
  const parsed = JSON.parse(body) as { prompt?: unknown; messages?: Array<{ content?: unknown }> };
  if (typeof parsed.prompt === 'string') parsed.prompt = cut(parsed.prompt);
  for (const m of parsed.messages ?? []) if (typeof m.content === 'string') m.content = cut(m.content);
  return JSON.stringify(parsed);
}
