// `npm run bench:quant` (a benchmark, not a test): fp32 vs int8 vs int4 of one model in one run. Each
// variant is measured in its own child process (so peak RSS is its own), variants interleaved and repeated
// (A B C A B C) so drift on a shared machine hits all of them; medians are reported. Then quality vs fp32,
// and a probe of onnxruntime's own memory overheads with raw sessions.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { QualityReport } from '../types.js';
import { evaluateModel, folderWeightBytes } from '../eval/eval.js';
import { readModelFolder } from '../onnx/loader.js';
import { isMainModule } from '../sys/mainModule.js';
import { resolveQuantizedModelDir } from '../quantize/quantize.js';
import type { BenchChildRequest, BenchChildResult } from './quantBenchChild.js';
import type { ProbeRequest, ProbeResult } from './quantBenchProbe.js';
import { renderBenchTable, renderProbeTable, summarizeVariant, type VariantSummary } from './quantBenchReport.js';
import { resolveModelDir } from '../modelgen/resolve.js';
import { measureQuantizeRss, renderQuantizeRssTable } from './quantizeRss.js';

interface BenchArgs {
  model: string;
  repeats: number;
  promptTokens: number;
  decodeTokens: number;
  batch: number;
  runsPerChild: number;
  quality: boolean;
  probe: boolean;
  /** Measure the peak RSS of quantize and split (child processes) against model size + 500 MB. */
  rss: boolean;
  /** Only that measurement. */
  rssOnly: boolean;
}

function parseArgs(argv: string[]): BenchArgs {
  const a: BenchArgs = { model: 'gpt2', repeats: 3, promptTokens: 128, decodeTokens: 24, batch: 8, runsPerChild: 2, quality: true, probe: true, rss: true, rssOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    const num = (): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${k}: expected a positive integer, got ${v}`);
      i++;
      return n;
    };
    if (k === '--model' && v) (a.model = v), i++;
    else if (k === '--repeats') a.repeats = num();
    else if (k === '--prompt-tokens') a.promptTokens = num();
    else if (k === '--decode-tokens') a.decodeTokens = num();
    else if (k === '--batch') a.batch = num();
    else if (k === '--runs') a.runsPerChild = num();
    else if (k === '--no-quality') a.quality = false;
    else if (k === '--no-probe') a.probe = false;
    else if (k === '--no-rss') a.rss = false;
    else if (k === '--rss-only') a.rssOnly = true;
    else throw new Error(`unknown argument ${k} (options: --model M --repeats N --prompt-tokens N --decode-tokens N --batch N --runs N --no-quality --no-probe --no-rss --rss-only)`);
  }
  return a;
}

/** Runs a child module with one JSON argument; resolves with its one JSON line. Bounded in time. */
function runChild<T>(script: string, request: unknown, timeoutMs: number): Promise<T> {
  return new Promise((resolveP, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', script, JSON.stringify(request)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${script} exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
      try {
        resolveP(JSON.parse(out.trim().split('\n').pop() ?? '') as T);
      } catch (e) {
        reject(new Error(`${script}: bad output (${(e as Error).message}): ${out.slice(0, 200)}`));
      }
    });
  });
}

const here = (name: string): string => fileURLToPath(new URL(name, import.meta.url));
const log = (m: string): void => void process.stderr.write(`${m}\n`);

export async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const fp32 = await resolveModelDir(args.model, log);
  const rssRows = args.rss || args.rssOnly ? await measureQuantizeRss(fp32, log) : [];
  const rssText = ['', `### Peak RSS of quantize and split (${args.model}, one child process each; bench/rss-probe.cjs reports getrusage maxrss)`, '', renderQuantizeRssTable(rssRows), ''];
  if (args.rssOnly) {
    process.stdout.write(`${rssText.join('\n')}\n${rssRows.map((r) => `${r.step}: ${r.command}`).join('\n')}\n`);
    return;
  }
  const variants: Array<[string, string]> = [['fp32', fp32]];
  for (const m of ['int8', 'int4']) variants.push([m, await resolveQuantizedModelDir(args.model, m, { onProgress: log })]);

  const runs = new Map<string, BenchChildResult[]>(variants.map(([v]) => [v, []]));
  for (let r = 0; r < args.repeats; r++) {
    for (const [v, dir] of variants) {
      const req: BenchChildRequest = { dir, promptTokens: args.promptTokens, decodeTokens: args.decodeTokens, batch: args.batch, runs: args.runsPerChild, threads: null };
      const res = await runChild<BenchChildResult>(here('./quantBenchChild.js'), req, 600_000);
      runs.get(v)?.push(res);
      log(`repeat ${r + 1}/${args.repeats} ${v}: decode b1 ${res.decodeMsPerTokenB1.map((x) => x.toFixed(1)).join(', ')} ms/tok, peak RSS ${(res.peakRssBytes / 1e6).toFixed(0)} MB`);
    }
  }

  const quality = new Map<string, QualityReport>();
  if (args.quality) {
    for (const [v, dir] of variants.slice(1)) {
      log(`quality: ${v} vs fp32`);
      const q = await evaluateModel(dir, fp32, { maxEvalTokens: 512, greedyPrompts: 3, maxTokens: 16 });
      quality.set(v, q);
      if (!quality.has('fp32') && q.referencePerplexity !== null) {
        quality.set('fp32', { ...q, perplexity: q.referencePerplexity, referencePerplexity: null, perplexityDeltaPct: null, top1Agreement: null, meanKl: null, greedyAgreement: null, fileBytes: readModelFolder(fp32).fileBytes, weightBytes: await folderWeightBytes(readModelFolder(fp32).onnxPath) });
      }
    }
  }

  const rows: VariantSummary[] = [];
  for (const [v, dir] of variants) {
    const info = readModelFolder(dir);
    rows.push(summarizeVariant(v, dir, info.fileBytes, await folderWeightBytes(info.onnxPath), runs.get(v) ?? [], quality.get(v) ?? null));
  }

  const probes: ProbeResult[] = [];
  if (args.probe) {
    const configs: Array<[string, boolean, boolean]> = [
      ['default (prepacking on, CPU arena on)', false, true],
      ['session.disable_prepacking=1', true, true],
      ['enableCpuMemArena=false', false, false],
    ];
    for (const [v, dir] of variants) {
      for (const [label, disablePrepacking, cpuArena] of configs) {
        if (v === 'fp32' && disablePrepacking) continue; // fp32 without prepacking: slow and not informative here
        const req: ProbeRequest = { dir, label, disablePrepacking, cpuArena, decodeSteps: disablePrepacking ? 3 : 12 };
        const p = await runChild<ProbeResult>(here('./quantBenchProbe.js'), req, 600_000);
        probes.push({ ...p, label: `${v}: ${label}` });
      }
    }
  }

  const cpu = cpus();
  const header = [
    `## bench:quant: ${args.model}, fp32 vs int8 vs int4`,
    '',
    `Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} logical CPUs, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at the end.`,
    `Each variant: ${args.repeats} child processes (interleaved), ${args.runsPerChild} batch-1 generations each (prompt ${args.promptTokens} tokens, ${args.decodeTokens} new tokens), and a batch of ${args.batch} (32-token prompts) timed on decode-only engine steps. Medians. Numbers are noisy on a shared machine; compare ratios within one run.`,
    'Peak RSS = VmHWM of the child (includes the load transient); steady RSS = VmRSS after decoding and a full GC. Both through the engine (BatchEngine.load), as the server loads models.',
    '',
  ];
  const text = [...header, renderBenchTable(rows, args.batch, args.promptTokens)];
  if (rssRows.length) text.push(...rssText);
  if (probes.length) {
    text.push('', '### onnxruntime overheads (raw session from the file, one option set per process)', '', renderProbeTable(probes));
  }
  text.push(`(${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  process.stdout.write(`${text.join('\n')}\n`);
  const outDir = join(process.cwd(), 'results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `bench-quant-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ args, rows, probes, quantizeRss: rssRows, runs: Object.fromEntries(runs) }, null, 2)}\n`);
  log(`wrote ${file}`);
}

if (isMainModule(import.meta.url)) await main();
