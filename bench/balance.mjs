// `npm run bench:balance`: proxy overhead of the built-in balancer and nginx vs direct requests.
// Without --upstream it starts synthetic SSE servers with fixed timing in child processes; with
// --upstream NAME=URL (repeatable) it measures those servers instead (e.g. real `llmbench serve` replicas).
// Run after `tsc` (the npm script does): it imports the compiled modules from dist/.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    'serve-synthetic': { type: 'boolean', default: false },
    name: { type: 'string', default: 'replica-0' },
    upstream: { type: 'string', multiple: true, default: [] },
    replicas: { type: 'string', default: '1' },
    'ttft-ms': { type: 'string', default: '20' },
    'itl-ms': { type: 'string', default: '5' },
    chunks: { type: 'string', default: '16' },
    path: { type: 'string', default: '/v1/completions' },
    body: { type: 'string', default: JSON.stringify({ model: 'bench', prompt: 'Hello', max_tokens: 16, stream: true }) },
    requests: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '20' },
    'throughput-seconds': { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    policy: { type: 'string', default: 'least-connections' },
    targets: { type: 'string', default: 'direct,builtin,nginx' },
    json: { type: 'string' },
  },
});

const int = (name) => {
  const v = Number(a[name]);
  if (!Number.isInteger(v) || v < 0) {
    process.stderr.write(`--${name}: expected a non-negative integer, got "${a[name]}"\n`);
    process.exit(2);
  }
  return v;
};
const timing = { ttftMs: int('ttft-ms'), itlMs: int('itl-ms'), chunks: Math.max(1, int('chunks')) };

if (a['serve-synthetic']) {
  const { startSyntheticUpstream } = await import('../dist/balancer/syntheticUpstream.js');
  const s = await startSyntheticUpstream(a.name, timing);
  process.stdout.write(`ready ${s.url}\n`);
  process.on('SIGTERM', () => void s.close().then(() => process.exit(0)));
  // Exit with the parent.
  process.stdin.on('end', () => void s.close().then(() => process.exit(0)));
  process.stdin.resume();
} else {
  const { runOverheadBench, renderOverheadTable } = await import('../dist/bench/balancerOverhead.js');
  const { parseUpstreamArg } = await import('../dist/balancer/upstreamSpec.js');
  const { findNginx, nginxVersion } = await import('../dist/balancer/nginx.js');

  const children = [];
  const startSynthetic = (name) =>
    new Promise((resolve, reject) => {
      const self = fileURLToPath(import.meta.url);
      const args = [self, '--serve-synthetic', '--name', name, '--ttft-ms', String(timing.ttftMs), '--itl-ms', String(timing.itlMs), '--chunks', String(timing.chunks)];
      const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
      children.push(child);
      child.once('exit', (code) => reject(new Error(`synthetic upstream exited (${code})`)));
      child.stdout.setEncoding('utf8');
      child.stdout.once('data', (line) => {
        const url = /ready (\S+)/.exec(line)?.[1];
        if (url) resolve({ name, url });
        else reject(new Error(`unexpected output: ${line}`));
      });
    });

  const synthetic = a.upstream.length === 0;
  let code = 0;
  try {
    const upstreams = synthetic
      ? await Promise.all(Array.from({ length: Math.max(1, int('replicas')) }, (_, i) => startSynthetic(`replica-${i}`)))
      : a.upstream.map(parseUpstreamArg);
    const opts = {
      upstreams,
      path: a.path,
      body: a.body,
      throughputPath: synthetic ? `${a.path}?instant=1` : a.path,
      latencyRequests: int('requests'),
      rounds: Math.max(1, int('rounds')),
      warmupRequests: int('warmup'),
      throughputSeconds: int('throughput-seconds'),
      throughputConnections: Math.max(1, int('connections')),
      policy: a.policy,
      targets: a.targets.split(',').map((s) => s.trim()).filter(Boolean),
      log: (line) => process.stderr.write(`${line}\n`),
    };
    const startedAt = new Date().toISOString();
    const results = await runOverheadBench(opts);
    let nginx = 'not installed';
    try {
      nginx = await nginxVersion(findNginx());
    } catch {
      // reported as not installed
    }
    const setup = synthetic
      ? `${upstreams.length} synthetic SSE upstream(s): first token after ${timing.ttftMs} ms, ${timing.chunks} chunks ${timing.itlMs} ms apart`
      : `upstreams: ${upstreams.map((u) => `${u.name}=${u.url}`).join(', ')}`;
    process.stdout.write(
      [
        `## Balancer overhead (${startedAt})`,
        '',
        `${setup}; ${opts.latencyRequests} sequential streaming requests per target in ${opts.rounds} interleaved rounds; ` +
          `throughput: ${opts.throughputConnections} connections for ${opts.throughputSeconds} s${synthetic ? ' against instant responses' : ''}.`,
        `builtin = \`llmbench balance\` child process (${opts.policy}); nginx ${nginx} (least_conn, 1 worker). ` +
          `Node ${process.version}, ${cpus().length} CPU(s): ${cpus()[0]?.model ?? '?'}.`,
        '',
        renderOverheadTable(results, opts.throughputConnections),
        '',
      ].join('\n'),
    );
    const dead = results.filter((r) => r.skipped === null && r.ttftMs.count === 0);
    if (dead.length > 0) {
      process.stderr.write(`bench:balance: no successful request through ${dead.map((r) => r.target).join(', ')}\n`);
      code = 1;
    }
    if (a.json) writeFileSync(a.json, `${JSON.stringify({ startedAt, setup, options: { ...opts, log: undefined }, results }, null, 2)}\n`);
  } catch (e) {
    process.stderr.write(`bench:balance failed: ${e instanceof Error ? e.message : String(e)}\n`);
    code = 1;
  } finally {
    for (const c of children) c.kill('SIGTERM');
  }
  process.exitCode = code;
}
