// `node bench/soak.mjs [--rate 1000] [--duration 60s] [--also 180s]`: a long open-loop `llmbench run` against a
// trivial local SSE server (its own process, 4 chunks per response), then `report` and `gate` on the result, each
// timed with its peak RSS; the client's RSS during load and its growth per request (src/bench/soakBench.ts).
// `--also` adds a second run of another duration and prints the RSS growth per request between the two.
// Run after `tsc`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer } from '../dist/bench/clientBench.js';
import { growthLine, loadRssLine, timedCommand } from '../dist/bench/soakBench.js';

const { values: a } = parseArgs({ options: { rate: { type: 'string', default: '1000' }, duration: { type: 'string', default: '60s' }, also: { type: 'string' } } });
const work = mkdtempSync(join(tmpdir(), 'llmbench-soak-'));
const bin = new URL('../bin/llmbench.js', import.meta.url).pathname;
const probe = new URL('./rss-probe.cjs', import.meta.url).pathname;
const server = await startServer(4);
const scenario = (duration) => {
  const file = join(work, `soak-${duration}.yaml`);
  writeFileSync(
    file,
    `name: soak-local\nworkload: { distinctRequests: 64, promptTokens: 8, outputTokens: 4 }\n` +
      `load: { profile: constant, rate: ${a.rate}, duration: ${duration}, warmupRequests: 10 }\n` +
      `pipelines:\n  - { name: trivial, target: { url: "${server.url}" } }\n`,
  );
  return file;
};
try {
  const rows = [];
  const runs = [];
  for (const duration of [a.duration, ...(a.also ? [a.also] : [])]) {
    const out = join(work, `run-${duration}`);
    const run = await timedCommand(`run (${a.rate} req/s, ${duration})`, bin, probe, ['run', scenario(duration), '--out', out]);
    run.loadAvg = loadavg()[0];
    runs.push(run);
    rows.push(run);
    if (runs.length === 1) {
      for (const [label, args] of [
        ['report', ['report', out]],
        ['gate', ['gate', out, '--gate', 'baseline.e2eMs.p99 <= 10s', '--gate', 'baseline.errorRate <= 0.01']],
      ]) {
        const r = await timedCommand(label, bin, probe, args);
        r.loadAvg = loadavg()[0];
        rows.push(r);
      }
    }
  }
  const report = rows[1]?.stdout ?? '';
  const lines = [
    `machine: ${cpus()[0]?.model ?? '?'} x ${cpus().length}, load average ${loadavg()[0].toFixed(2)}; node ${process.version}`,
    '',
    '| command | exit | wall s | CPU s | load avg at end | peak RSS MB |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.label} | ${r.code} | ${r.seconds.toFixed(1)} | ${r.cpuSeconds.toFixed(1)} | ${r.loadAvg.toFixed(1)} | ${(r.peakRssBytes / 1e6).toFixed(0)} |`),
    '',
    ...runs.map(loadRssLine),
    ...(runs.length > 1 ? [growthLine(runs[0], runs[1])] : []),
    '',
    ...report.split('\n').filter((l) => /trivial|requests|req\/s|lag|INVALID|incomplete/i.test(l)).slice(0, 12),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  for (const r of rows) if (r.code !== 0) process.stderr.write(`${r.label}: exit ${r.code}\n${(r.stderr ?? '').slice(-1500)}\n`);
} finally {
  server.child.stdin?.end();
  rmSync(work, { recursive: true, force: true });
}
