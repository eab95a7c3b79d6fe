// Part of `npm run bench:quant`: peak RSS of `llmbench quantize` (int8, int4) and of a 2-stage layer split,
// each in its own child process, against the target "model size + 500 MB" (issue 15: a 7B export must
// quantize on a 24 GB machine, so neither the weights nor their quantized copy may sit in memory whole).
// Peak RSS is the child's own getrusage maxrss, reported by bench/rss-probe.cjs as it exits.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readModelFolder } from '../onnx/loader.js';
import { isMainModule } from '../sys/mainModule.js';
import { splitModel } from '../split/splitModel.js';

/** The allowance over the model's file size: 500 MB. */
export const RSS_ALLOWANCE_BYTES = 500e6;

/** One measured step. */
export interface QuantizeRssRow {
  step: string;
  command: string;
  modelBytes: number;
  peakRssBytes: number;
  elapsedMs: number;
}

const repoFile = (rel: string): string => fileURLToPath(new URL(`../../${rel}`, import.meta.url));

/** Runs `args` under node with the RSS probe preloaded; resolves with the child's peak RSS. Bounded in time. */
function peakRssOf(args: string[], timeoutMs: number): Promise<{ peakRssBytes: number; elapsedMs: number }> {
  return new Promise((resolveP, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--require', repoFile('bench/rss-probe.cjs'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const kb = /LLMBENCH_MAX_RSS_KB=(\d+)/.exec(err)?.[1];
      if (code !== 0 || kb === undefined) return reject(new Error(`${args.join(' ')} exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
      resolveP({ peakRssBytes: Number(kb) * 1024, elapsedMs: performance.now() - t0 });
    });
  });
}

/** Quantizes (int8, int4) and splits the model folder `dir` in child processes; returns each one's peak RSS. */
export async function measureQuantizeRss(dir: string, log: (m: string) => void): Promise<QuantizeRssRow[]> {
  const modelBytes = readModelFolder(dir).fileBytes;
  const work = mkdtempSync(join(tmpdir(), 'llmbench-quant-rss-'));
  const rows: QuantizeRssRow[] = [];
  try {
    const steps: Array<[string, string[]]> = [
      ...['int8', 'int4'].map((m): [string, string[]] => [`quantize --method ${m}`, [repoFile('bin/llmbench.js'), 'quantize', dir, '--method', m, '--out', join(work, m)]]),
      ['split into 2 stages', [fileURLToPath(import.meta.url), 'split', dir, join(work, 'split')]],
    ];
    for (const [step, args] of steps) {
      const r = await peakRssOf(args, 30 * 60_000);
      rows.push({ step, command: `node ${args.map((a) => a.replace(work, '$TMP')).join(' ')}`, modelBytes, ...r });
      log(`${step}: peak RSS ${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB`);
      rmSync(join(work, step.startsWith('split') ? 'split' : (step.split(' ').pop() ?? '')), { recursive: true, force: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return rows;
}

const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;

/** The table of measured peaks against model size + 500 MB. */
export function renderQuantizeRssTable(rows: readonly QuantizeRssRow[]): string {
  const lines = ['| step | model files | peak RSS | limit (size + 500 MB) | peak - size | within |', '|---|---:|---:|---:|---:|---|'];
  for (const r of rows) {
    const limit = r.modelBytes + RSS_ALLOWANCE_BYTES;
    lines.push(`| ${r.step} | ${mib(r.modelBytes)} | ${mib(r.peakRssBytes)} | ${mib(limit)} | ${mib(r.peakRssBytes - r.modelBytes)} | ${r.peakRssBytes < limit ? 'yes' : 'NO'} |`);
  }
  return lines.join('\n');
}

// Child mode for the split step: `node quantizeRss.js split <modelDir> <outDir>`.
if (isMainModule(import.meta.url)) {
  const [mode, dir, out] = process.argv.slice(2);
  if (mode !== 'split' || !dir || !out) {
    process.stderr.write('usage: quantizeRss.js split <modelDir> <outDir>\n');
    process.exit(2);
  }
  await splitModel(dir, { stages: 2 }, { outDir: out });
}
