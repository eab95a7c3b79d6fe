// Where a result came from: versions, machine, GPU, model hashes. Enough to tell two results apart.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Provenance } from '../types.js';
import { VERSION } from '../version.js';
import { gpuNames } from './load/nvidiaSmi.js';
import { detectInt8Dot } from '../quantize/int8Dot.js';

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function gitCommit(): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('git', ['rev-parse', 'HEAD'], { cwd: PACKAGE_ROOT, timeout: 3000 }, (err, stdout) => {
      const sha = stdout?.trim() ?? '';
      resolve(err || !/^[0-9a-f]{40}$/.test(sha) ? null : sha);
    });
  });
}

function onnxruntimeVersion(): string {
  try {
    const req = createRequire(import.meta.url);
    return (req('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Collects provenance; `modelHashes` maps pipeline name to the sha256 of the model it served. */
export async function collectProvenance(modelHashes: Record<string, string>): Promise<Provenance> {
  const cpus = os.cpus();
  const [commit, gpu, int8Dot] = await Promise.all([gitCommit(), gpuNames(), detectInt8Dot()]);
  return {
    llmbenchVersion: VERSION,
    gitCommit: commit,
    node: process.version,
    onnxruntime: onnxruntimeVersion(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCores: cpus.length,
    totalMemoryBytes: os.totalmem(),
    gpu,
    modelHashes,
    int8Dot,
  };
}
