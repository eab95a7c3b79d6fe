// threadPreemptions counts the times the scheduler switched this thread out while it could still run: with more
// busy processes than cores, a busy loop here must lose its CPU at least once, and the KV arena's slice stats
// must then split preempted slices from the ones the thread kept its CPU through.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { describe, expect, it } from 'vitest';
import { threadPreemptions } from '../../src/sys/procStatus.js';
import { KvArena } from '../../src/engine/kvArena.js';

function busyChildren(n: number, ms: number): ChildProcess[] {
  return Array.from({ length: n }, () => spawn(process.execPath, ['-e', `const t = Date.now(); while (Date.now() - t < ${ms});`], { stdio: 'ignore' }));
}

async function exited(children: ChildProcess[]): Promise<void> {
  await Promise.all(children.map((c) => (c.exitCode !== null ? Promise.resolve() : new Promise((resolve) => c.on('exit', resolve)))));
}

describe('threadPreemptions', () => {
  it('reads a count on Linux that grows when busy processes outnumber the cores', async () => {
    const before = threadPreemptions();
    expect(before).not.toBeNull();
    const children = busyChildren(cpus().length + 1, 3000);
    try {
      // Let the children start spinning, then spin here too for a second.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const start = threadPreemptions() as number;
      const t = Date.now();
      while (Date.now() - t < 1000);
      expect(threadPreemptions() as number).toBeGreaterThan(start);
      expect(start).toBeGreaterThanOrEqual(before as number);
    } finally {
      for (const c of children) c.kill();
      await exited(children);
    }
  }, 30_000);

  it('KV re-layout slices under contention: preempted ones counted, the rest bound the loop hold', async () => {
    const shape = { layers: 4, rows: 8, heads: 8, headDim: 64, maxSlots: 1024, dtype: 'float32' as const };
    const arena = new KvArena(shape);
    const children = busyChildren(cpus().length + 1, 6000);
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      // 64 MiB of zero-filled growth in 1 ms slices with every core contended.
      await arena.prepare(shape.rows, 1024, 1);
    } finally {
      for (const c of children) c.kill();
      await exited(children);
    }
    const s = arena.relayoutStats;
    expect(s.slices).toBeGreaterThan(10);
    expect(s.preemptedSlices).toBeGreaterThan(0);
    expect(s.preemptedSlices).toBeLessThanOrEqual(s.slices);
    expect(s.maxUnpreemptedSliceMs).not.toBeNull();
    expect(s.maxUnpreemptedSliceMs as number).toBeLessThanOrEqual(s.maxSliceMs);
  }, 30_000);
});
