// Execution providers, chosen explicitly: `cpu` always works; `cuda` and `webgpu` only when this
// onnxruntime build lists them AND a trial session on a one-node model starts with them.
import * as ort from 'onnxruntime-node';
import { ProviderError, UsageError } from '../errors.js';
import { DT, GraphBuilder, encodeModel } from '../onnx/builder.js';
import type { DeviceName } from '../types.js';

/** Every device name llmbench knows, in the order it lists them. */
export const DEVICE_NAMES: readonly DeviceName[] = ['cpu', 'cuda', 'webgpu'];

const trials = new Map<DeviceName, Promise<string | null>>();

/** Parses a --device value (unknown names are a usage error listing the known ones). */
export function parseDevice(value: string): DeviceName {
  const v = value.trim().toLowerCase();
  if ((DEVICE_NAMES as readonly string[]).includes(v)) return v as DeviceName;
  throw new UsageError(`--device: unknown device "${value}"`, `Choose one of: ${DEVICE_NAMES.join(', ')}.`);
}

/** Why `device` cannot be used here, or null when it can (result cached per process). */
export function deviceProblem(device: DeviceName): Promise<string | null> {
  if (device === 'cpu') return Promise.resolve(null);
  let t = trials.get(device);
  if (!t) {
    t = trialDevice(device);
    trials.set(device, t);
  }
  return t;
}

/** Devices that work in this process (always includes cpu). */
export async function availableDevices(): Promise<DeviceName[]> {
  const out: DeviceName[] = [];
  for (const d of DEVICE_NAMES) if ((await deviceProblem(d)) === null) out.push(d);
  return out;
}

/** The `executionProviders` session option for a device; ProviderError (naming what works) if unavailable. */
export async function executionProvidersFor(device: DeviceName): Promise<string[]> {
  const problem = await deviceProblem(device);
  if (problem !== null) {
    const avail = await availableDevices();
    throw new ProviderError(
      `device "${device}" is not available: ${problem}. Available here: ${avail.join(', ')}`,
      `Use --device ${avail.join(' or --device ')}.`,
    );
  }
  return device === 'cpu' ? ['cpu'] : [device, 'cpu'];
}

async function trialDevice(device: DeviceName): Promise<string | null> {
  const listed = ort.listSupportedBackends().find((b) => b.name === device);
  if (!listed) return `this onnxruntime-node build has no ${device} backend`;
  try {
    const s = await ort.InferenceSession.create(trialModel(), { executionProviders: [device], logSeverityLevel: 4 });
    await s.release();
    return null;
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0] ?? '';
    // Keep the reason short: the first clause of onnxruntime's message is the informative part.
    const reason = msg.includes('Failed to load') ? 'its provider library is not installed' : msg.includes('adapter') ? 'no GPU adapter found' : msg.slice(-160);
    return `${device} failed to start (${reason})`;
  }
}

function trialModel(): Uint8Array {
  const g = new GraphBuilder();
  g.input('x', DT.FLOAT, [1]);
  g.op('Identity', ['x'], {}, 'y');
  g.output('y', DT.FLOAT, [1]);
  return encodeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: g.graph('trial') });
}
