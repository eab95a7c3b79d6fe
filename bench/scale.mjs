// `npm run bench:scale`: 1,000,000 synthetic requests over 3 pipelines (seeded), written through the real request
// log and result writer; then `report`, `report --format md`, `compare`, `baseline save` and `gate` are run as
// real child processes, each timed, with its peak RSS. Targets (2-core machine): each command <= 30 s and
// <= 1.5 GB RSS; the run folder <= 100 bytes per request. Run after `tsc`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeSyntheticRun } from '../dist/bench/scaleBench.js';

const { values: a } = parseArgs({
  options: {
    requests: { type: 'string', default: '1000000' },
    pipelines: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
    // Time the commands on a folder an earlier --keep run left, instead of writing a new one.
    reuse: { type: 'string' },
  },
});
const requests = Number(a.requests);
const work = mkdtempSync(join(tmpdir(), 'llmbench-scale-'));
const run = a.reuse ?? join(work, 'run');
const bin = new URL('../bin/llmbench.js', import.meta.url).pathname;
const probe = new URL('./rss-probe.cjs', import.meta.url).pathname;

const LIMIT_S = 30;
const LIMIT_RSS = 1.5e9;
const LIMIT_BYTES = 100;

try {
  if (!a.reuse) process.stderr.write(`writing ${requests} synthetic requests over ${a.pipelines} pipelines to ${run}\n`);
  const w = a.reuse
    ? { writeMs: NaN, folderBytes: readdirSync(run).reduce((sum, f) => sum + statSync(join(run, f)).size, 0) }
    : await writeSyntheticRun(run, { requests, pipelines: Number(a.pipelines), seed: 42, ratePerSec: 1000 });
  const commands = [
    ['report', ['report', run]],
    ['report --format md', ['report', run, '--format', 'md', '--out', join(work, 'md')]],
    ['compare', ['compare', run, run]],
    ['baseline save', ['baseline', 'save', run, '--name', 'scale', '--dir', join(work, 'baselines')]],
    ['gate (scenario gates + baseline)', ['gate', run, '--baseline', join(work, 'baselines', 'scale.json')]],
  ];
  const rows = [];
  for (const [label, args] of commands) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['--require', probe, bin, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const seconds = (performance.now() - t0) / 1000;
    const m = /LLMBENCH_MAX_RSS_KB=(\d+)/.exec(r.stderr ?? '');
    const rss = m ? Number(m[1]) * 1024 : NaN;
    const c = /LLMBENCH_CPU_US=(\d+)/.exec(r.stderr ?? '');
    const cpuSeconds = c ? Number(c[1]) / 1e6 : NaN;
    if (r.status !== 0) process.stderr.write(`${label} exited ${r.status}:\n${(r.stderr ?? '').slice(-2000)}\n`);
    rows.push({ label, seconds, cpuSeconds, load: loadavg()[0], rss, ok: r.status === 0 && seconds <= LIMIT_S && rss <= LIMIT_RSS });
  }
  const perRequest = w.folderBytes / requests;
  const lines = [
    `machine: ${cpus()[0]?.model ?? '?'} x ${cpus().length}, load average ${loadavg()[0].toFixed(2)}; node ${process.version}`,
    a.reuse ? `timing the run folder ${run} (--reuse; written earlier)` : `${requests} requests over ${a.pipelines} pipelines, written in ${(w.writeMs / 1000).toFixed(1)} s`,
    '',
    '| command                              | wall s | CPU s | load avg | peak RSS MB | within target |',
    '|--------------------------------------|--------|-------|----------|-------------|---------------|',
    ...rows.map(
      (r) =>
        `| ${r.label.padEnd(36)} | ${r.seconds.toFixed(1).padStart(6)} | ${r.cpuSeconds.toFixed(1).padStart(5)} | ${r.load.toFixed(1).padStart(8)} | ${(r.rss / 1e6).toFixed(0).padStart(11)} | ${(r.ok ? 'yes' : 'NO').padEnd(13)} |`,
    ),
    '',
    `run folder: ${(w.folderBytes / 1e6).toFixed(1)} MB, ${perRequest.toFixed(1)} bytes per request (target <= ${LIMIT_BYTES}): ${perRequest <= LIMIT_BYTES ? 'yes' : 'NO'}`,
    `targets: each command <= ${LIMIT_S} s and <= ${LIMIT_RSS / 1e9} GB peak RSS (judged on wall time; CPU s = user + system time of`,
    'the command, what it would take on idle cores; load avg = 1-minute load when the command ended, on a machine of 2 cores)',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (!rows.every((r) => r.ok) || perRequest > LIMIT_BYTES) process.exitCode = 1;
} finally {
  if (!a.keep) rmSync(work, { recursive: true, force: true });
  else process.stderr.write(`kept ${work}\n`);
}
