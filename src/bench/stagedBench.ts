// Decode speed of a layer-split model against the unsplit one: the same greedy prefill + decode loop over
// the engine's Decoder interface for every configuration, interleaved round by round so machine noise hits
// all of them alike. Run: node dist/bench/stagedBench.js [model-or-preset] [rounds] [decodeTokens] [batch] [full|lean]
import { pathToFileURL } from 'node:url';
import { median, quantileSorted } from '../stats/quantile.js';
import { resolveModelDir } from '../modelgen/resolve.js';
import type { SplitPlan } from '../split/splitPlan.js';
import { createDecoder, type Decoder } from '../engine/decoder.js';
import { type DecoderSession, openDecoderSession } from '../engine/session.js';
import { loadStagedRunner, type StagedDecoderSession } from '../engine/staged/stagedLoad.js';

/** One configuration to measure. */
export interface BenchConfig {
  label: string;
  /** null = unsplit. */
  plan: SplitPlan | null;
  /** Intra-op threads per session (per stage when split). */
  threads: number;
  /** Split only: keep the KV cache in the stages (StagedSlotDecoder) instead of shipping it every step. */
  residentKv: boolean;
  /** Sequences decoded together (one batched run per step). */
  batch: number;
  /** Split with KV in stages: row groups per decode step, pipelined through the stages. */
  microBatches?: number;
}

/** Medians over rounds for one configuration. */
export interface BenchRow {
  label: string;
  /** Wall time per decode step (each step yields `batch` tokens): median over rounds. */
  decodeMsPerStep: number;
  /** 25th and 75th percentile of the per-round decode ms/step (how noisy the machine was). */
  decodeMsPerStepIqr: [number, number];
  prefillMs: number;
  /** Decode tokens per second over the batch. */
  tokensPerSecond: number;
  /** Time inside onnxruntime per decode step, summed over stages (the compute; the rest is overhead). */
  ortMsPerStep: number;
  /** Per stage: share of decode wall time spent inside session.run (split configurations only). */
  stageBusyPct: number[];
}

interface StageClock {
  stageTimings(): { runMs: number }[];
}

/** Measures each configuration `rounds` times (after one warm-up round), interleaved. */
export async function benchStagedDecode(modelSpec: string, configs: BenchConfig[], rounds: number, decodeTokens: number, promptLength = 32): Promise<BenchRow[]> {
  const dir = await resolveModelDir(modelSpec);
  const sessions: DecoderSession[] = [];
  try {
    for (const c of configs) {
      sessions.push(c.plan ? await loadStagedRunner(dir, c.plan, { threads: c.threads, microBatches: c.microBatches }) : await openDecoderSession(dir, { threads: c.threads }));
    }
    const maxSlots = promptLength + decodeTokens + 1;
    const decoders: Decoder[] = configs.map((c, i) => {
      const s = sessions[i] as DecoderSession;
      return c.plan && c.residentKv ? (s as StagedDecoderSession).createDecoder(c.batch, maxSlots) : createDecoder(s, c.batch, maxSlots);
    });
    const prompt = (row: number): number[] => Array.from({ length: promptLength }, (_, i) => 32 + ((i * 37 + row * 11) % 90));
    const samples = configs.map(() => ({ step: [] as number[], prefill: [] as number[], ort: [] as number[], busy: [] as number[][] }));
    for (let r = -1; r < rounds; r++) {
      // The starting configuration rotates, so none always runs right after the same neighbour.
      for (let k = 0; k < configs.length; k++) {
        const i = (k + r + 1) % configs.length;
        const c = configs[i] as BenchConfig;
        const d = decoders[i] as Decoder;
        const runner = (sessions[i] as DecoderSession).runner;
        const clock = 'stageTimings' in runner ? (runner as unknown as StageClock) : null;
        for (let row = 0; row < c.batch; row++) d.clearRow(row);
        const t0 = performance.now();
        let next: number[] = [];
        for (let row = 0; row < c.batch; row++) next.push(argmax(await d.extend(row, prompt(row)), 0, d.vocabSize));
        const t1 = performance.now();
        const before = clock?.stageTimings() ?? [];
        const ortBefore = runner.stats.runMs;
        for (let k = 0; k < decodeTokens; k++) {
          const logits = await d.decode(next);
          next = next.map((_, row) => argmax(logits, row, d.vocabSize));
        }
        const t2 = performance.now();
        if (r < 0) continue;
        const out = samples[i];
        if (!out) continue;
        out.prefill.push(t1 - t0);
        out.step.push((t2 - t1) / decodeTokens);
        if (clock) {
          const spent = clock.stageTimings().map((t, k) => t.runMs - (before[k]?.runMs ?? 0));
          out.busy.push(spent.map((ms) => (100 * ms) / (t2 - t1)));
          out.ort.push(spent.reduce((a, b) => a + b, 0) / decodeTokens);
        } else out.ort.push((runner.stats.runMs - ortBefore) / decodeTokens);
      }
    }
    return configs.map((c, i) => {
      const s = samples[i] ?? { step: [0], prefill: [0], ort: [0], busy: [] };
      const stepMs = median(s.step);
      return {
        label: c.label,
        decodeMsPerStep: stepMs,
        decodeMsPerStepIqr: ((sorted) => [quantileSorted(sorted, 0.25), quantileSorted(sorted, 0.75)])([...s.step].sort((a, b) => a - b)),
        prefillMs: median(s.prefill),
        tokensPerSecond: (1000 * c.batch) / stepMs,
        ortMsPerStep: median(s.ort),
        stageBusyPct: Array.from({ length: s.busy[0]?.length ?? 0 }, (_, k) => median(s.busy.map((b) => b[k] ?? 0))),
      };
    });
  } finally {
    for (const s of sessions) await s.runner.dispose();
  }
}

/** Markdown table of bench rows. */
export function formatBenchRows(rows: BenchRow[]): string {
  const lines = [
    '| configuration | decode ms/step (median) | IQR over rounds | decode tokens/s | ORT ms/step (all stages) | prefill ms | stage busy % (decode) |',
    '|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    const busy = r.stageBusyPct.map((p) => p.toFixed(0)).join(' / ') || '-';
    const [lo, hi] = r.decodeMsPerStepIqr;
    lines.push(`| ${r.label} | ${r.decodeMsPerStep.toFixed(2)} | ${lo.toFixed(2)}-${hi.toFixed(2)} | ${r.tokensPerSecond.toFixed(0)} | ${r.ortMsPerStep.toFixed(2)} | ${r.prefillMs.toFixed(1)} | ${busy} |`);
  }
  return lines.join('\n');
}

function argmax(logits: Float32Array, row: number, vocab: number): number {
  let best = 0;
  const base = row * vocab;
  for (let i = 1; i < vocab; i++) if ((logits[base + i] as number) > (logits[base + best] as number)) best = i;
  return best;
}

async function main(): Promise<void> {
  const [model = 'small', roundsText = '5', tokensText = '64', batchText = '1', set = 'full'] = process.argv.slice(2);
  const batch = Number(batchText);
  const configs: BenchConfig[] = [
    { label: 'unsplit, 1 thread', plan: null, threads: 1, residentKv: false, batch },
    { label: 'unsplit, 2 threads', plan: null, threads: 2, residentKv: false, batch },
    { label: '1 stage (worker) x 1 thread, KV in stage', plan: { stages: 1 }, threads: 1, residentKv: true, batch },
    { label: '2 stages x 1 thread, KV in stages', plan: { stages: 2 }, threads: 1, residentKv: true, batch },
    { label: '2 stages x 1 thread, KV shipped per step', plan: { stages: 2 }, threads: 1, residentKv: false, batch },
    { label: '4 stages x 1 thread, KV in stages', plan: { stages: 4 }, threads: 1, residentKv: true, batch },
  ];
  // 'lean' keeps the rows that answer split vs unsplit, for models too large to hold six copies of.
  if (set === 'lean') configs.splice(0, configs.length, ...configs.filter((c) => c.threads === 1 && (c.plan === null || ('stages' in c.plan && c.plan.stages <= 2))));
  if (batch >= 2) configs.push({ label: '2 stages x 1 thread, KV in stages, 2 micro-batches', plan: { stages: 2 }, threads: 1, residentKv: true, batch, microBatches: 2 });
  const rows = await benchStagedDecode(model, configs, Number(roundsText), Number(tokensText));
  process.stdout.write(`model ${model}, batch ${batch}, ${tokensText} decode steps after a 32-token prompt, median of ${roundsText} rounds\n`);
  process.stdout.write(`${formatBenchRows(rows)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
