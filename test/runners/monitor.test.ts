import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { parseProcStatus } from '../../src/sys/procStatus.js';
import { gpuAttributable, ResourceMonitor } from '../../src/runners/load/monitor.js';
import { parseComputeApps } from '../../src/runners/load/nvidiaSmi.js';

describe('resource monitor', () => {
  it('parses nvidia-smi --query-compute-apps output (MiB, one line per process and GPU)', () => {
    const fixture = '12345, 1536\n 678 , 20480\n12345, 512\n\n[N/A], [N/A]\n';
    const m = parseComputeApps(fixture);
    expect([...m.entries()]).toEqual([
      [12345, 2048 * 1024 * 1024],
      [678, 20480 * 1024 * 1024],
    ]);
    expect(parseComputeApps('').size).toBe(0);
  });

  it('GPU memory is attributable only when no GPU process runs or one of ours is listed (containers list host PIDs: n/a, not 0)', () => {
    const apps = parseComputeApps('12345, 1536\n678, 20480\n');
    expect(gpuAttributable(apps, [12345, 999])).toBe(true);
    expect(gpuAttributable(apps, [4242, 4243])).toBe(false);
    expect(gpuAttributable(parseComputeApps(''), [4242])).toBe(true);
  });

  it('parses VmRSS from /proc/<pid>/status', () => {
    expect(parseProcStatus('Name:\tnode\nVmPeak:\t  999 kB\nVmRSS:\t   51200 kB\nVmData: 1 kB\n')?.rssBytes).toBe(51200 * 1024);
    expect(parseProcStatus('Name:\tkthreadd\n')).toBeNull();
  });

  it('samples RSS of a real process and its children; no nvidia-smi means gpuAvailable false', async () => {
    // A parent that starts a child which holds ~40 MB.
    const script =
      "const {spawn}=require('child_process');" +
      "spawn(process.execPath,['-e','const b=Buffer.alloc(40e6,1);setInterval(()=>b[0]++,50)'],{stdio:'ignore'});" +
      'setInterval(()=>{},1000);';
    const parent = spawn(process.execPath, ['-e', script], { stdio: 'ignore', detached: true });
    try {
      const pid = parent.pid as number;
      const mon = new ResourceMonitor(() => [{ pid, name: 'replica-0', role: 'server' }], 50);
      const t0 = performance.now();
      await mon.start();
      await new Promise((r) => setTimeout(r, 1500));
      const trace = await mon.stop(t0);
      expect(trace.intervalMs).toBe(50);
      const root = trace.processes.find((p) => p.pid === pid);
      const child = trace.processes.find((p) => p.pid !== pid);
      expect(root?.name).toBe('replica-0');
      expect(root?.role).toBe('server');
      expect(child?.name).toBe('replica-0/node');
      expect(Math.max(...(child?.rss ?? []).map(([, v]) => v))).toBeGreaterThan(40e6);
      expect(root?.rss.length).toBeGreaterThan(5);
      expect(root?.rss.every(([t]) => t >= 0)).toBe(true);
      // This test machine has no nvidia-smi; on a GPU machine the trace would carry per-process GPU bytes.
      const hasSmi = trace.gpuAvailable;
      if (!hasSmi) expect(root?.gpu).toEqual([]);
      else expect(root?.gpu.length).toBeGreaterThan(0);
    } finally {
      process.kill(-(parent.pid as number), 'SIGKILL');
    }
  });
});
