// Which execution provider runs each node of a model. onnxruntime assigns nodes it has no kernel for on the
// requested provider (CUDA, WebGPU) to the CPU provider without an error; the only account of it is the
// session's verbose log ("Node placements", written by VerifyEachNodeIsAssignedToAnEp), and the Node binding
// exposes neither the assignment nor its own stderr. So a short child process opens the model with verbose
// logging and the same providers, and its stderr is parsed here.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { ModelError } from '../errors.js';
import type { DeviceName, PlacementReport } from '../types.js';
import { parsePlacementLog, providerName } from './placementLog.js';

// The child, as a plain ES module (run with -e, so it works from the compiled package and from sources alike).
// Arguments: onnxruntime-node's entry URL, the model path, the device, the thread count.
const CHILD_SCRIPT = `
const [ortUrl, path, device, threads] = process.argv.slice(1);
const ort = await import(ortUrl);
try {
  const s = await ort.InferenceSession.create(path, {
    executionProviders: device === 'cpu' ? ['cpu'] : [device, 'cpu'],
    graphOptimizationLevel: 'all', intraOpNumThreads: Number(threads), logSeverityLevel: 0,
  });
  await s.release();
} catch (e) {
  process.stderr.write('placement probe error: ' + String(e.message).split('\\n')[0] + '\\n');
  process.exitCode = 1;
}
`;

export interface PlacementProbeOptions {
  device: DeviceName;
  threads?: number;
  /** Give up after this long (a large model on a GPU takes a while to load). */
  timeoutMs?: number;
}

/**
 * Opens `onnxPath` in a child process with verbose logging and the device's providers, and reports where
 * onnxruntime placed its nodes. The child's session is the model as exported (llmbench's own patch nodes,
 * a few Slice/Gather, are not in it). Throws ModelError when the child fails or logs no placement.
 */
export function probePlacement(onnxPath: string, opts: PlacementProbeOptions): Promise<PlacementReport> {
  const requested = providerName(opts.device);
  return new Promise((resolve, reject) => {
    const ortUrl = pathToFileURL(createRequire(import.meta.url).resolve('onnxruntime-node')).href;
    const args = ['--input-type=module', '-e', CHILD_SCRIPT, ortUrl, onnxPath, opts.device, String(opts.threads ?? 1)];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    // Keep only what the parser needs: the verbose log of a large model runs to many MB.
    let kept = '';
    let partial = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) if (/placements|placed on|\]\s{2}\S+ \(|Error|error/.test(l)) kept += `${l}\n`;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new ModelError(`${onnxPath}: placement probe could not start: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const report = parsePlacementLog(kept + partial, requested);
      if (report && code === 0) resolve(report);
      else {
        const why = signal ? `killed by ${signal}` : `exit ${code}`;
        const last = (kept + partial).trim().split('\n').slice(-2).join(' | ');
        reject(new ModelError(`${onnxPath}: placement probe on ${opts.device} found no node placement (${why})${last ? `: ${last.slice(-300)}` : ''}`));
      }
    });
  });
}
