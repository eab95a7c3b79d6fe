// The server's memory breakdown: exact composition from measured parts, /proc parsing, and a real server that
// reports its KV cache and weights in GET /memory and /metrics.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseProcStatus } from '../../src/sys/procStatus.js';
import type { InferenceServerHandle } from '../../src/server/inferenceServer.js';
import { composeBreakdown } from '../../src/server/memoryBreakdown.js';
import type { MemoryBreakdown } from '../../src/types.js';
import { createTinyModel, metricValue, scrape, startTinyServer, type TinyModel } from '../helpers/tinyServer.js';

const MIB = 1024 * 1024;
const st = (rss: number, anon: number, file: number, peak: number) => ({ rssBytes: rss * MIB, anonBytes: anon * MIB, fileBytes: file * MIB, peakRssBytes: peak * MIB });

describe('composeBreakdown', () => {
  it('splits the load into mapped (file) and copied (anonymous) weights, and leaves the rest as other', () => {
    const js = (heap: number, buffers: number) => ({ heapBytes: heap * MIB, bufferBytes: buffers * MIB });
    const b = composeBreakdown({
      beforeLoad: st(80, 35, 45, 82),
      afterLoad: st(300, 160, 140, 310),
      now: st(420, 280, 140, 450),
      // The load kept 3 MiB more heap and 2 MiB more buffers: JS growth, not weight copies.
      jsBeforeLoad: js(10, 1),
      jsAfterLoad: js(13, 3),
      jsNow: js(14, 9),
      weightFileBytes: 120 * MIB,
      kvAllocatedBytes: 36 * MIB,
      kvInUseBytes: 20 * MIB,
      ortRunBytes: 50 * MIB,
      replicas: 1,
    });
    expect(b).toEqual({
      rssBytes: 420 * MIB,
      peakRssBytes: 450 * MIB,
      loadPeakRssBytes: 310 * MIB,
      runtimeBytes: 80 * MIB,
      weightFileBytes: 120 * MIB,
      weightsMappedBytes: 95 * MIB,
      // 125 MiB of anonymous growth less the 5 MiB the JS side kept from the load
      weightCopiesBytes: 120 * MIB,
      kvAllocatedBytes: 36 * MIB,
      kvInUseBytes: 20 * MIB,
      ortRunBytes: 50 * MIB,
      jsHeapGrowthBytes: 4 * MIB,
      jsBuffersBytes: 8 * MIB,
      // 420 - (80 + 95 + 120 + 36 + 50 + 4 + 8)
      otherBytes: 27 * MIB,
      replicas: 1,
    } satisfies MemoryBreakdown);
  });

  it('parses /proc/<pid>/status (kB) into bytes', () => {
    const text = 'Name:\tnode\nVmHWM:\t  716000 kB\nVmRSS:\t  569000 kB\nRssAnon:\t  504000 kB\nRssFile:\t   65000 kB\n';
    expect(parseProcStatus(text)).toEqual({ rssBytes: 569000 * 1024, anonBytes: 504000 * 1024, fileBytes: 65000 * 1024, peakRssBytes: 716000 * 1024 });
    expect(parseProcStatus('Name:\tnode\n')).toBeNull();
  });
});

describe('GET /memory and the memory metrics of a real server', () => {
  let model: TinyModel;
  let server: InferenceServerHandle;
  beforeAll(async () => {
    model = await createTinyModel();
    server = await startTinyServer(model, { maxBatch: 4 });
  });
  afterAll(async () => {
    await server?.close();
    model?.remove();
  });

  const memory = async (): Promise<MemoryBreakdown> => ((await (await fetch(`${server.url}/memory`)).json()) as { breakdown: MemoryBreakdown }).breakdown;

  it('reports the weights it loaded and a KV cache that grows with the tokens it holds', async () => {
    const before = await memory();
    expect(before.weightFileBytes).toBe(statSync(join(model.dir, 'onnx', 'model.onnx')).size);
    expect(before.runtimeBytes).toBeGreaterThan(20 * MIB);
    expect(before.weightsMappedBytes + before.weightCopiesBytes).toBeGreaterThan(0);
    expect(before.peakRssBytes).toBeGreaterThanOrEqual(before.rssBytes);
    expect(before.replicas).toBe(1);
    // Nothing generated yet: no KV cache allocated (it is sized to what sequences use, not the full context).
    expect(before.kvAllocatedBytes).toBe(0);
    const res = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'The river runs past the old mill and', max_tokens: 24, temperature: 0 }),
    });
    expect(res.status).toBe(200);
    const after = await memory();
    expect(after.kvAllocatedBytes).toBeGreaterThan(0);
    // The finished sequence's slots are free again, the arrays stay allocated for the next one.
    expect(after.kvInUseBytes).toBe(0);
    const text = await scrape(server.url);
    expect(metricValue(text, 'llmbench_kv_cache_bytes')).toBe(after.kvAllocatedBytes);
    expect(metricValue(text, 'llmbench_weight_file_bytes')).toBe(after.weightFileBytes);
    expect(metricValue(text, 'llmbench_peak_resident_memory_bytes')).toBeGreaterThanOrEqual(after.rssBytes);
  });
});
