// npm run bench:envab -- NAME=VALUE [MODEL QUANT ROUNDS] — output tokens/s of `llmbench serve` without and with
// one environment variable set (NAME unset vs NAME=VALUE), alternating fresh servers ROUNDS times each on the
// same machine (8 concurrent greedy completions of 128 tokens after one warm-up request), and the median change.
// Both arms get the environment llmbench gives the servers it starts (deployLocal's serverEnv). Loopback only.
// Run after `tsc` (the npm script does). `bench:malloc` is this A/B for MALLOC_MMAP_THRESHOLD_.
import { fileURLToPath } from 'node:url';
import { serverEnv } from '../dist/runners/deploy/deployLocal.js';
import { spawnLlmbench } from '../dist/runners/deploy/processes.js';

/** A `llmbench serve` started the way pipelines start it (`serverEnv`), with `env` as its environment. */
function start(env, model, quant) {
  const args = ['serve', '--model', model, ...(quant !== 'none' ? ['--quantize', quant] : []), '--host', '127.0.0.1', '--port', '0', '--threads', '2', '--max-batch', '8', '--timeout-ms', '0', '--exit-with-parent'];
  return spawnLlmbench({ name: 'bench-envab', role: 'server', args, env, readyTimeoutMs: 300_000 });
}

async function tokensPerSecond(url) {
  const one = async (i) => {
    const r = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: `Request ${i}: ` + 'The quick brown fox jumps over the lazy dog. '.repeat(8), max_tokens: 128, temperature: 0, ignore_eos: true }),
    });
    const body = await r.json();
    if (r.status !== 200) throw new Error(`the server answered ${r.status}: ${body?.error?.message ?? JSON.stringify(body)} (the A/B needs a model whose context holds ~190 prompt + 128 output tokens: gpt2, small, or a folder)`);
    return body.usage.completion_tokens;
  };
  await one(99);
  const t0 = performance.now();
  const tokens = (await Promise.all(Array.from({ length: 8 }, (_, i) => one(i)))).reduce((a, b) => a + b, 0);
  return tokens / ((performance.now() - t0) / 1000);
}

/** Runs the A/B and prints each round and the median change. */
export async function envAb(assignment, model = 'gpt2', quant = 'int4', rounds = 3) {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new Error(`expected NAME=VALUE, got "${assignment}"`);
  const name = assignment.slice(0, eq);
  const value = assignment.slice(eq + 1);
  // The servers' usual environment (glibc settings included), with the variable unset in one arm and set in the other.
  const plain = serverEnv();
  delete plain[name];
  const arms = [[`${name} unset`, plain], [assignment, { ...plain, [name]: value }]];
  const got = new Map(arms.map(([label]) => [label, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [label, env] of arms) {
      const s = await start(env, model, quant);
      let tps;
      try {
        tps = await tokensPerSecond(s.ready.url);
      } finally {
        await s.stop(10_000);
      }
      got.get(label).push(tps);
      process.stdout.write(`round ${r + 1} ${label}: ${tps.toFixed(1)} output tok/s\n`);
    }
  }
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const [a, b] = arms.map(([label]) => median(got.get(label)));
  process.stdout.write(`${model} ${quant}, 8 streams x 128 tokens: median ${a.toFixed(1)} (${name} unset) vs ${b.toFixed(1)} (${assignment}) output tok/s, ${(((b - a) / a) * 100).toFixed(1)}%\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [assignment, model, quant, rounds] = process.argv.slice(2);
  if (!assignment || assignment.indexOf('=') <= 0 || (rounds !== undefined && !(Number(rounds) >= 1))) {
    process.stderr.write('usage: npm run bench:envab -- NAME=VALUE [MODEL QUANT ROUNDS]\n');
    process.exit(2);
  }
  try {
    await envAb(assignment, model, quant, rounds ? Number(rounds) : undefined);
  } catch (e) {
    process.stderr.write(`bench:envab: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
