// `npm run bench:memory`: peak RSS of `llmbench serve` (fp32, int8, int4 of the gpt2 preset) at 1 and 8 streams
// that each hold 512 tokens of context, against 1.2 x weights + allocated KV + 150 MiB, with each server's own
// memory breakdown. int4 is quantized at block size 32 (`--block-size N` to change): llmbench's default, and the
// block size of llama.cpp's Q4_0, which the comparison with llama.cpp uses. Run after `tsc` (the npm script does).
// Exit code 1 when a row misses the target.
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { runMemoryBench } from '../dist/bench/memoryBench.js';
import { renderMemoryBench, rowVerdict } from '../dist/bench/memoryBenchReport.js';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: 'gpt2' },
    variants: { type: 'string', default: 'fp32,int8,int4' },
    streams: { type: 'string', default: '1,8' },
    context: { type: 'string', default: '512' },
    output: { type: 'string', default: '64' },
    threads: { type: 'string', default: '2' },
    'max-batch': { type: 'string', default: '8' },
    'block-size': { type: 'string', default: '32' },
    'no-mmap': { type: 'boolean', default: false },
    'kv-dtype': { type: 'string' },
    replicas: { type: 'string', default: '1' },
    'replica-mode': { type: 'string', default: 'process' },
  },
});
const MIB = 1024 * 1024;
const extraArgs = [...(a['no-mmap'] ? ['--no-mmap'] : []), ...(a['kv-dtype'] ? ['--kv-dtype', a['kv-dtype']] : [])];
const replicas = Number(a.replicas);
const modes = a['replica-mode'].split(',');
for (const m of modes) if (m !== 'process' && m !== 'shared') throw new Error(`--replica-mode: expected process, shared or both (comma-separated), got "${m}"`);
const variants = a.variants.split(',').flatMap((v) =>
  modes.map((mode) => ({
    label: `${v}${v === 'int4' ? ` b${a['block-size']}` : ''}${replicas > 1 ? ` x${replicas} ${mode}` : ''}${a['no-mmap'] ? ' (--no-mmap)' : ''}${a['kv-dtype'] ? ` (KV ${a['kv-dtype']})` : ''}`,
    quantize: v === 'fp32' ? null : v,
    blockSize: v === 'int4' ? Number(a['block-size']) : null,
    extraArgs,
    replicas,
    replicaMode: mode,
  })),
);
const slackBytes = 150 * MIB;
const loadAtStart = loadavg();
const rows = await runMemoryBench({
  model: a.model,
  variants,
  streams: a.streams.split(',').map(Number),
  contextTokens: Number(a.context),
  outputTokens: Number(a.output),
  threads: Number(a.threads),
  maxBatch: Number(a['max-batch']),
  slackBytes,
  log: (l) => process.stderr.write(`${l}\n`),
});
process.stdout.write(
  `\nllmbench serve memory, model ${a.model}, each stream ${Number(a.context) - Number(a.output)} prompt + up to ${a.output} output tokens, ` +
    `--threads ${a.threads} --max-batch ${a['max-batch']} per replica; each model (quantized copy, page-aligned weights file) prepared before its measured servers started${replicas > 1 ? ` (${replicas} replicas; streams round robin; shared: one process with ${replicas} x ${a.threads} threads)` : ''}, ${cpus().length} CPU cores (${cpus()[0]?.model ?? '?'})\n\n${renderMemoryBench(rows, slackBytes)}`,
);
process.stdout.write(`load average (1/5/15 min) at the start: ${loadAtStart.map((x) => x.toFixed(2)).join(' ')}, at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
if (rows.some((r) => !rowVerdict(r).meetsTarget)) process.exitCode = 1;
