// Decode speed of a layer-split model against the unsplit one: greedy generation with the engine's own
// generate(), configurations interleaved round by round so machine noise hits all of them alike.
// Run: node dist/engine/stagedBench.js [model-or-preset] [rounds] [maxTokens]
import { pathToFileURL } from 'node:url';
import { median } from 'simple-statistics';
import { resolveModelDir } from '../model/resolve.js';
import type { SplitPlan } from '../model/splitPlan.js';
import { generate } from './generate.js';
import { type DecoderSession, openDecoderSession } from './session.js';
import { loadStagedRunner } from './stagedLoad.js';

/** One configuration to measure. */
export interface BenchConfig {
  label: string;
  /** null = unsplit. */
  plan: SplitPlan | null;
  /** Intra-op threads per session (per stage when split). */
  threads: number;
  /** Sequences generated at once (each its own decoder; runs overlap in the runner). */
  concurrent: number;
}

/** Medians over rounds for one configuration. */
export interface BenchRow {
  label: string;
  decodeMsPerToken: number;
  prefillMs: number;
  /** Output tokens per second over all concurrent sequences. */
  tokensPerSecond: number;
  /** Per stage: share of wall time spent inside session.run (split configurations only). */
  stageBusyPct: number[];
}

/** Measures each configuration `rounds` times, interleaved; returns one row per configuration. */
export async function benchStagedDecode(modelSpec: string, configs: BenchConfig[], rounds: number, maxTokens: number, promptLength = 32): Promise<BenchRow[]> {
  const dir = await resolveModelDir(modelSpec);
  const sessions: DecoderSession[] = [];
  try {
    for (const c of configs) {
      sessions.push(c.plan ? await loadStagedRunner(dir, c.plan, { threads: c.threads }) : await openDecoderSession(dir, { threads: c.threads }));
    }
    const prompt = Array.from({ length: promptLength }, (_, i) => 32 + ((i * 37) % 90));
    const samples = configs.map(() => ({ decode: [] as number[], prefill: [] as number[], tps: [] as number[], busy: [] as number[][] }));
    for (let r = -1; r < rounds; r++) {
      for (const [i, c] of configs.entries()) {
        const s = sessions[i] as DecoderSession;
        const stagesBefore = 'stageTimings' in s.runner ? (s.runner as { stageTimings(): { runMs: number }[] }).stageTimings() : [];
        const t0 = performance.now();
        const results = await Promise.all(Array.from({ length: c.concurrent }, () => generate(s, prompt, { maxTokens, stopTokenIds: [] })));
        const wallMs = performance.now() - t0;
        if (r < 0) continue; // warm-up round
        const out = samples[i];
        if (!out) continue;
        out.decode.push(median(results.map((x) => x.decodeMsPerToken)));
        out.prefill.push(median(results.map((x) => x.prefillMs)));
        out.tps.push((results.reduce((a, x) => a + x.outputTokens, 0) * 1000) / wallMs);
        if ('stageTimings' in s.runner) {
          const after = (s.runner as { stageTimings(): { runMs: number }[] }).stageTimings();
          out.busy.push(after.map((t, k) => (100 * (t.runMs - (stagesBefore[k]?.runMs ?? 0))) / wallMs));
        }
      }
    }
    return configs.map((c, i) => {
      const s = samples[i] ?? { decode: [0], prefill: [0], tps: [0], busy: [] };
      const stages = s.busy[0]?.length ?? 0;
      return {
        label: c.label,
        decodeMsPerToken: median(s.decode),
        prefillMs: median(s.prefill),
        tokensPerSecond: median(s.tps),
        stageBusyPct: Array.from({ length: stages }, (_, k) => median(s.busy.map((b) => b[k] ?? 0))),
      };
    });
  } finally {
    for (const s of sessions) await s.runner.dispose();
  }
}

/** Markdown table of bench rows. */
export function formatBenchRows(rows: BenchRow[]): string {
  const lines = ['| configuration | decode ms/token | prefill ms | tokens/s (all sequences) | stage busy % |', '|---|---:|---:|---:|---|'];
  for (const r of rows) {
    lines.push(`| ${r.label} | ${r.decodeMsPerToken.toFixed(2)} | ${r.prefillMs.toFixed(1)} | ${r.tokensPerSecond.toFixed(0)} | ${r.stageBusyPct.map((p) => p.toFixed(0)).join(' / ') || '-'} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const [model = 'small', roundsText = '5', tokensText = '64'] = process.argv.slice(2);
  const configs: BenchConfig[] = [
    { label: 'unsplit, 1 thread', plan: null, threads: 1, concurrent: 1 },
    { label: 'unsplit, 2 threads', plan: null, threads: 2, concurrent: 1 },
    { label: '2 stages x 1 thread', plan: { stages: 2 }, threads: 1, concurrent: 1 },
    { label: '4 stages x 1 thread', plan: { stages: 4 }, threads: 1, concurrent: 1 },
    { label: 'unsplit, 1 thread, 2 sequences at once', plan: null, threads: 1, concurrent: 2 },
    { label: '2 stages x 1 thread, 2 sequences at once', plan: { stages: 2 }, threads: 1, concurrent: 2 },
  ];
  const rows = await benchStagedDecode(model, configs, Number(roundsText), Number(tokensText));
  process.stdout.write(`${formatBenchRows(rows)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
