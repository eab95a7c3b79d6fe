// `node bench/soak.mjs [--rate 1000] [--duration 60s]`: a long open-loop `llmbench run` against a trivial
// local SSE server (its own process, 4 chunks per response), then `report` and `gate` on the result, each timed
// with its peak RSS. Checks that a run of tens of thousands of requests completes and reads back in seconds.
// Run after `tsc`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer } from '../dist/bench/clientBench.js';

const { values: a } = parseArgs({ options: { rate: { type: 'string', default: '1000' }, duration: { type: 'string', default: '60s' } } });
const work = mkdtempSync(join(tmpdir(), 'llmbench-soak-'));
const bin = new URL('../bin/llmbench.js', import.meta.url).pathname;
const probe = new URL('./rss-probe.cjs', import.meta.url).pathname;
const server = await startServer(4);
const timed = (label, args) => {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--require', probe, bin, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const seconds = (performance.now() - t0) / 1000;
  const rss = Number(/LLMBENCH_MAX_RSS_KB=(\d+)/.exec(r.stderr ?? '')?.[1] ?? NaN) * 1024;
  const cpuSeconds = Number(/LLMBENCH_CPU_US=(\d+)/.exec(r.stderr ?? '')?.[1] ?? NaN) / 1e6;
  return { label, seconds, cpuSeconds, load: loadavg()[0], rss, code: r.status, stdout: r.stdout, stderr: r.stderr };
};
try {
  const file = join(work, 'soak.yaml');
  writeFileSync(
    file,
    `name: soak-local\nworkload: { distinctRequests: 64, promptTokens: 8, outputTokens: 4 }\n` +
      `load: { profile: constant, rate: ${a.rate}, duration: ${a.duration}, warmupRequests: 10 }\n` +
      `pipelines:\n  - { name: trivial, target: { url: "${server.url}" } }\n`,
  );
  const rows = [
    timed(`run (${a.rate} req/s, ${a.duration})`, ['run', file, '--out', join(work, 'run')]),
    timed('report', ['report', join(work, 'run')]),
    timed('gate', ['gate', join(work, 'run'), '--gate', 'baseline.e2eMs.p99 <= 10s', '--gate', 'baseline.errorRate <= 0.01']),
  ];
  const report = rows[1]?.stdout ?? '';
  const lines = [
    `machine: ${cpus()[0]?.model ?? '?'} x ${cpus().length}, load average ${loadavg()[0].toFixed(2)}; node ${process.version}`,
    '',
    '| command | exit | wall s | CPU s | load avg at end | peak RSS MB |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.label} | ${r.code} | ${r.seconds.toFixed(1)} | ${r.cpuSeconds.toFixed(1)} | ${r.load.toFixed(1)} | ${(r.rss / 1e6).toFixed(0)} |`),
    '',
    ...report.split('\n').filter((l) => /trivial|requests|req\/s|lag|INVALID|incomplete/i.test(l)).slice(0, 12),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  for (const r of rows) if (r.code !== 0) process.stderr.write(`${r.label}: exit ${r.code}\n${(r.stderr ?? '').slice(-1500)}\n`);
} finally {
  server.child.stdin?.end();
  rmSync(work, { recursive: true, force: true });
}
