// npm run bench:malloc [-- MODEL QUANT ROUNDS THRESHOLD] — output tokens/s of `llmbench serve` with glibc's
// default mmap threshold vs MALLOC_MMAP_THRESHOLD_=THRESHOLD (default 32768, what the servers llmbench starts
// get), alternating fresh servers ROUNDS times each on the same machine (8 concurrent greedy completions of 128
// tokens after one warm-up request), and the median change. Loopback only.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/llmbench.js', import.meta.url));
const [model = 'gpt2', quant = 'int4', roundsArg = '3', threshold = '32768'] = process.argv.slice(2);
const rounds = Number(roundsArg);

async function start(env) {
  const args = [BIN, 'serve', '--model', model, ...(quant !== 'none' ? ['--quantize', quant] : []), '--port', '0', '--threads', '2', '--max-batch', '8', '--timeout-ms', '0', '--exit-with-parent'];
  const p = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
      const m = /llmbench-ready (\{.*\})/.exec(out);
      if (m) resolve(JSON.parse(m[1]).url);
    });
    p.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { p, url };
}

async function tokensPerSecond(url) {
  const one = async (i) => {
    const r = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: `Request ${i}: ` + 'The quick brown fox jumps over the lazy dog. '.repeat(8), max_tokens: 128, temperature: 0, ignore_eos: true }),
    });
    return (await r.json()).usage.completion_tokens;
  };
  await one(99);
  const t0 = performance.now();
  const tokens = (await Promise.all(Array.from({ length: 8 }, (_, i) => one(i)))).reduce((a, b) => a + b, 0);
  return tokens / ((performance.now() - t0) / 1000);
}

const plain = { ...process.env };
delete plain.MALLOC_MMAP_THRESHOLD_;
const arms = [['glibc default', plain], [`MALLOC_MMAP_THRESHOLD_=${threshold}`, { ...plain, MALLOC_MMAP_THRESHOLD_: threshold }]];
const got = new Map(arms.map(([name]) => [name, []]));
for (let r = 0; r < rounds; r++) {
  for (const [name, env] of arms) {
    const s = await start(env);
    const tps = await tokensPerSecond(s.url);
    s.p.kill('SIGTERM');
    await new Promise((resolve) => s.p.on('exit', resolve));
    got.get(name).push(tps);
    process.stdout.write(`round ${r + 1} ${name}: ${tps.toFixed(1)} output tok/s\n`);
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const [a, b] = arms.map(([name]) => median(got.get(name)));
process.stdout.write(`${model} ${quant}, 8 streams x 128 tokens: median ${a.toFixed(1)} (glibc default) vs ${b.toFixed(1)} (MALLOC_MMAP_THRESHOLD_=${threshold}) output tok/s, ${(((b - a) / a) * 100).toFixed(1)}%\n`);
