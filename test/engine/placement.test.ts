// Node placement: onnxruntime's verbose "Node placements" block parsed (a fixture in the shape its
// session_state.cc writes), a real probe child on a real model, and a real `llmbench serve` answering
// GET /placement when asked to check.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probePlacement } from '../../src/engine/placement.js';
import { describePlacement, parsePlacementLog } from '../../src/engine/placementLog.js';
import { ModelError } from '../../src/errors.js';
import type { ManagedProcess } from '../../src/runners/deploy/processes.js';
import { startServe } from '../helpers/serveProcess.js';
import { makeTinyModel } from './helpers.js';

// A CUDA session where shape arithmetic stayed on the CPU, as onnxruntime logs it (timestamps, severity tag,
// source location, then the message; listed nodes are indented two spaces after the tag's space).
const MIXED = [
  '2026-12-03 10:00:00.100 [V:onnxruntime:, inference_session.cc:1700 Initialize] Adding default CPU execution provider.',
  '2026-12-03 10:00:01.200 [V:onnxruntime:, session_state.cc:1377 VerifyEachNodeIsAssignedToAnEp] Node placements',
  '2026-12-03 10:00:01.200 [V:onnxruntime:, session_state.cc:1383 VerifyEachNodeIsAssignedToAnEp]  Node(s) placed on [CUDAExecutionProvider]. Number of nodes: 3',
  '2026-12-03 10:00:01.200 [V:onnxruntime:, session_state.cc:1385 VerifyEachNodeIsAssignedToAnEp]   MatMul (/model/layers.0/attn/q_proj/MatMul)',
  '2026-12-03 10:00:01.200 [V:onnxruntime:, session_state.cc:1385 VerifyEachNodeIsAssignedToAnEp]   GroupQueryAttention (/model/layers.0/attn/GroupQueryAttention)',
  '2026-12-03 10:00:01.200 [V:onnxruntime:, session_state.cc:1385 VerifyEachNodeIsAssignedToAnEp]   MatMul (/model/layers.0/attn/o_proj/MatMul)',
  '2026-12-03 10:00:01.200 [V:onnxruntime:, session_state.cc:1383 VerifyEachNodeIsAssignedToAnEp]  Node(s) placed on [CPUExecutionProvider]. Number of nodes: 3',
  '2026-12-03 10:00:01.200 [V:onnxruntime:, session_state.cc:1385 VerifyEachNodeIsAssignedToAnEp]   Shape (/model/Shape)',
  '2026-12-03 10:00:01.200 [V:onnxruntime:, session_state.cc:1385 VerifyEachNodeIsAssignedToAnEp]   Gather (/model/Gather_1)',
  '2026-12-03 10:00:01.200 [V:onnxruntime:, session_state.cc:1385 VerifyEachNodeIsAssignedToAnEp]   Shape ()',
  '2026-12-03 10:00:01.300 [V:onnxruntime:, session_state.cc:1500 FinalizeSessionStateImpl] Done saving initialized tensors',
].join('\n');

describe('parsePlacementLog', () => {
  it('reads a mixed placement: providers, node counts, op types, and the nodes that fell back to CPU', () => {
    const r = parsePlacementLog(MIXED, 'CUDAExecutionProvider');
    expect(r).not.toBeNull();
    expect(r?.providers).toEqual([
      { provider: 'CUDAExecutionProvider', nodes: 3, ops: { MatMul: 2, GroupQueryAttention: 1 } },
      { provider: 'CPUExecutionProvider', nodes: 3, ops: { Shape: 2, Gather: 1 } },
    ]);
    expect(r?.totalNodes).toBe(6);
    expect(r?.cpuFallbackNodes).toBe(3);
    expect(describePlacement(r as NonNullable<typeof r>)).toBe('3 of 6 nodes fell back to CPU: 3 on CUDAExecutionProvider (MatMulx2, GroupQueryAttentionx1); 3 on CPUExecutionProvider (Shapex2, Gatherx1)');
  });

  it('reads the one-provider form, and returns null when the log has no placement block', () => {
    const all = parsePlacementLog('x [V:onnxruntime:, session_state.cc:1377 V] Node placements\nx [V:onnxruntime:, session_state.cc:1380 V]  All nodes placed on [CUDAExecutionProvider]. Number of nodes: 41\n', 'CUDAExecutionProvider');
    expect(all).toEqual({ requested: 'CUDAExecutionProvider', providers: [{ provider: 'CUDAExecutionProvider', nodes: 41, ops: {} }], totalNodes: 41, cpuFallbackNodes: 0 });
    expect(describePlacement(all as NonNullable<typeof all>)).toBe('all 41 nodes on CUDAExecutionProvider');
    expect(parsePlacementLog('2026 [W:onnxruntime:, x] something else\n', 'CUDAExecutionProvider')).toBeNull();
    // On a CPU session nothing counts as fallback.
    expect(parsePlacementLog(MIXED, 'CPUExecutionProvider')?.cpuFallbackNodes).toBe(0);
  });
});

describe('probePlacement and GET /placement', () => {
  let fixture: Awaited<ReturnType<typeof makeTinyModel>>;
  let server: ManagedProcess | null = null;
  beforeAll(async () => {
    fixture = await makeTinyModel();
  });
  afterAll(async () => {
    await server?.stop(5000);
    fixture.cleanup();
  });

  it('a real onnxruntime session on the CPU places every node on CPUExecutionProvider', async () => {
    const r = await probePlacement(join(fixture.dir, 'onnx', 'model.onnx'), { device: 'cpu' });
    expect(r.requested).toBe('CPUExecutionProvider');
    expect(r.providers.map((p) => p.provider)).toEqual(['CPUExecutionProvider']);
    expect(r.totalNodes).toBeGreaterThan(10);
    expect(r.cpuFallbackNodes).toBe(0);
  }, 60_000);

  it('a file onnxruntime cannot open is a ModelError naming it', async () => {
    const bad = join(fixture.root, 'missing.onnx');
    await expect(probePlacement(bad, { device: 'cpu' })).rejects.toThrow(ModelError);
    await expect(probePlacement(bad, { device: 'cpu' })).rejects.toThrow(/missing\.onnx.*no node placement/);
  }, 60_000);

  it('llmbench serve --placement-check on reports the placement; the CPU default does not check', async () => {
    server = await startServe(['--model', fixture.dir, '--max-batch', '2', '--placement-check', 'on']);
    const body = (await (await fetch(`${server.ready.url}/placement`)).json()) as { placement: { providers: Array<{ provider: string }>; totalNodes: number } | null };
    expect(body.placement?.providers.map((p) => p.provider)).toEqual(['CPUExecutionProvider']);
    expect(body.placement?.totalNodes).toBeGreaterThan(10);
    expect(server.stderrTail()).toMatch(/node placement on cpu: all \d+ nodes on CPUExecutionProvider/);
    await server.stop(5000);
    server = await startServe(['--model', fixture.dir, '--max-batch', '2']);
    const plain = (await (await fetch(`${server.ready.url}/placement`)).json()) as { placement: unknown };
    expect(plain.placement).toBeNull();
  }, 120_000);
});
