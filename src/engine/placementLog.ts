// onnxruntime's "Node placements" log block, parsed and described (pure). onnxruntime writes it at verbose
// level from VerifyEachNodeIsAssignedToAnEp: " All nodes placed on [EP]. Number of nodes: N" when one provider
// has every node, else per provider " Node(s) placed on [EP]. Number of nodes: N" followed by one
// "  OpType (node name)" line per node.
import type { DeviceName, PlacementReport, ProviderPlacement } from '../types.js';

/** onnxruntime's provider name for a device. */
export function providerName(device: DeviceName): string {
  return device === 'cuda' ? 'CUDAExecutionProvider' : device === 'webgpu' ? 'WebGpuExecutionProvider' : 'CPUExecutionProvider';
}

const ALL_RE = /All nodes placed on \[([A-Za-z0-9_]+)\]\. Number of nodes: (\d+)/;
const SOME_RE = /Node\(s\) placed on \[([A-Za-z0-9_]+)\]\. Number of nodes: (\d+)/;
// A listed node: two spaces, then "OpType (node name)" (the name may be empty or contain spaces).
const NODE_RE = /\]\s{2,}(\S+) \((.*)\)\s*$/;

/**
 * Parses the "Node placements" block of a verbose onnxruntime log. Returns null when the log has none (the
 * session failed before placement, or verbose logging was off). When a log holds several blocks (a model with
 * subgraphs is still one block; several sessions are several), the last one wins.
 */
export function parsePlacementLog(log: string, requested: string): PlacementReport | null {
  const lines = log.split('\n');
  let start = -1;
  for (let i = 0; i < lines.length; i++) if ((lines[i] as string).includes('Node placements')) start = i;
  if (start === -1) return null;
  const providers: ProviderPlacement[] = [];
  let current: ProviderPlacement | null = null;
  for (const line of lines.slice(start + 1)) {
    const all = ALL_RE.exec(line);
    if (all) {
      providers.push({ provider: all[1] as string, nodes: Number(all[2]), ops: {} });
      break;
    }
    const some = SOME_RE.exec(line);
    if (some) {
      current = { provider: some[1] as string, nodes: Number(some[2]), ops: {} };
      providers.push(current);
      continue;
    }
    const node = current ? NODE_RE.exec(line) : null;
    if (node && current) {
      const op = node[1] as string;
      current.ops[op] = (current.ops[op] ?? 0) + 1;
      continue;
    }
    // Anything else ends the block (the next log line of another kind).
    if (providers.length > 0 && line.trim() !== '') break;
  }
  if (providers.length === 0) return null;
  const totalNodes = providers.reduce((a, p) => a + p.nodes, 0);
  const cpuFallbackNodes = requested === 'CPUExecutionProvider' ? 0 : providers.filter((p) => p.provider === 'CPUExecutionProvider').reduce((a, p) => a + p.nodes, 0);
  return { requested, providers, totalNodes, cpuFallbackNodes };
}

/** One line for logs and reports: "all 95 nodes on CPUExecutionProvider" or what fell back. */
export function describePlacement(p: PlacementReport): string {
  if (p.providers.length === 1) return `all ${p.totalNodes} nodes on ${(p.providers[0] as ProviderPlacement).provider}`;
  const parts = p.providers.map((q) => {
    const ops = Object.entries(q.ops)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 6)
      .map(([op, n]) => `${op}x${n}`)
      .join(', ');
    return `${q.nodes} on ${q.provider}${ops ? ` (${ops}${Object.keys(q.ops).length > 6 ? ', ...' : ''})` : ''}`;
  });
  const lead = p.cpuFallbackNodes > 0 ? `${p.cpuFallbackNodes} of ${p.totalNodes} nodes fell back to CPU: ` : `${p.totalNodes} nodes: `;
  return lead + parts.join('; ');
}
