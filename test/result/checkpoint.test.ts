// kill -9 in the middle of a run: the run folder must still read as an incomplete run holding every request up to
// the last checkpoint. A real `llmbench run` child process against a real local streaming server.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTrivialSseServer, type TrivialServer } from '../../src/bench/trivialSseServer.js';
import { readResultFile } from '../../src/result/readResult.js';

let dir: string;
let server: TrivialServer;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llmbench-checkpoint-'));
  server = await startTrivialSseServer({ chunks: 4, chunkDelayMs: 2 });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('checkpoints', () => {
  it('after kill -9 mid-run, the folder reads as an incomplete run with the requests up to the last checkpoint', async () => {
    const file = join(dir, 'soak.yaml');
    writeFileSync(
      file,
      `name: soak
workload: { distinctRequests: 16, promptTokens: 8, outputTokens: 4 }
load: { profile: constant, rate: 100, duration: 60s, warmupRequests: 2 }
pipelines:
  - { name: ext, target: { url: "${server.url}" } }
`,
    );
    const out = join(dir, 'run');
    const bin = new URL('../../bin/llmbench.js', import.meta.url).pathname;
    const child = spawn(process.execPath, [bin, 'run', file, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (stderr += c));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, sig) => resolve(sig)));
    try {
      // Wait until the first periodic checkpoint has put rows on disk (the file grows past its header).
      const rowsFile = join(out, 'requests-0.jsonl.gz');
      const t0 = Date.now();
      while (Date.now() - t0 < 30_000) {
        await sleep(250);
        try {
          if (statSync(rowsFile).size > 400 && server.served() > 300) break;
        } catch {
          // not created yet
        }
      }
      expect(server.served(), stderr).toBeGreaterThan(300);
    } finally {
      child.kill('SIGKILL');
    }
    expect(await exited).toBe('SIGKILL');
    const sentBeforeKill = server.served();
    const result = await readResultFile(out);
    expect(result.complete).toBe(false);
    const p = result.pipelines[0];
    if (!p) throw new Error('no pipeline');
    expect(p.complete).toBe(false);
    expect(p.error).toContain('interrupted: summarized from');
    const measured = p.samples.filter((s) => !s.warmup);
    // Checkpoints come every 5 s: at least the first one's requests are there, and nothing the server never saw.
    expect(measured.length).toBeGreaterThan(200);
    expect(measured.length).toBeLessThanOrEqual(sentBeforeKill);
    expect(p.summary.counts.total).toBe(measured.length);
    expect(p.summary.counts.ok).toBe(measured.filter((s) => s.status === 'ok').length);
    expect(p.summary.e2eMs.p50).not.toBeNull();
    expect(p.summary.load.intendedRate).toBe(100);
    expect(p.summary.requestsPerSecond).toBeGreaterThan(50);
    expect(p.itlHistogram?.count).toBeGreaterThan(0);
  }, 60_000);
});
