// `npm run bench:server`: output tokens/s of `llmbench serve` at 1, 2, 4, 8 concurrent streaming clients
// (gpt2 preset, fp32 and int8 by default) and p50 TTFT. Run after `tsc` (the npm script does).
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderServerBench, runServerBench } from '../dist/bench/serverBench.js';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: 'gpt2' },
    variants: { type: 'string', default: 'fp32,int8' },
    clients: { type: 'string', default: '1,2,4,8' },
    'requests-per-client': { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
    'max-tokens': { type: 'string', default: '32' },
    'max-batch': { type: 'string', default: '8' },
    threads: { type: 'string' },
  },
});

const rows = await runServerBench({
  bin: fileURLToPath(new URL('../bin/llmbench.js', import.meta.url)),
  model: a.model,
  variants: a.variants.split(',').map((v) => (v === 'fp32' ? null : v)),
  clients: a.clients.split(',').map(Number),
  requestsPerClient: Number(a['requests-per-client']),
  rounds: Number(a.rounds),
  maxTokens: Number(a['max-tokens']),
  maxBatch: Number(a['max-batch']),
  threads: a.threads === undefined ? null : Number(a.threads),
  log: (l) => process.stderr.write(`${l}\n`),
});
process.stdout.write(`\nllmbench serve, model ${a.model}, ${a['max-tokens']} output tokens per request, ${a['requests-per-client']} requests per client, ` +
  `${a.rounds} interleaved rounds (median tok/s), max batch ${a['max-batch']}, ${cpus().length} CPU cores (${cpus()[0]?.model ?? '?'})\n\n${renderServerBench(rows)}\n`);
