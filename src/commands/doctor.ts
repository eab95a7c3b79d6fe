// `llmbench doctor`: what this machine can run, measured where it can be (a trial session per execution
// provider, the int8 probe), and for CUDA exactly what is missing and the command that installs it.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { detectInt8Dot, type Int8DotReport } from '../quantize/int8Dot.js';
import { cacheRoot } from '../modelgen/resolve.js';
import { gpuNames } from '../runners/load/nvidiaSmi.js';
import type { DeviceName } from '../types.js';
import { deviceProblem } from '../engine/providers.js';

/**
 * One command that makes CUDA work after a plain `npm install` (measured with npm 11.19 and onnxruntime-node
 * 1.30: npm 11 runs no dependency install script until it is approved in package.json `allowScripts`, and the
 * environment variable overrides the project's `.npmrc` skip). Needs internet: it downloads onnxruntime's CUDA 12
 * provider libraries (a NuGet package) into node_modules/onnxruntime-node/bin.
 */
export const CUDA_INSTALL_COMMAND = 'npm install-scripts approve onnxruntime-node && ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node';

/** The shared libraries onnxruntime-node loads for the cuda and tensorrt providers (not in the npm package). */
const CUDA_LIBRARIES = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'];
const TENSORRT_LIBRARIES = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_tensorrt.so'];

/** One execution provider: listed by this build, usable (a trial session started), and why not. */
export interface ProviderCheck {
  name: string;
  bundled: boolean;
  usable: boolean;
  problem: string | null;
  /** Provider libraries expected in onnxruntime-node's binary folder that are not there. */
  missingLibraries: string[];
}

/** Everything doctor found. */
export interface DoctorReport {
  cpu: { model: string; cores: number; arch: string; simd: string[]; int8Dot: Int8DotReport };
  node: string;
  npm: string | null;
  onnxruntime: string;
  onnxruntimeBinDir: string;
  providers: ProviderCheck[];
  nvidiaSmi: { found: boolean; gpus: string | null };
  cache: { dir: string; exists: boolean };
  nginx: string | null;
  cuda: {
    /** Why CUDA does not work after `npm install`, in order of what blocks it; empty when it works. */
    blockers: string[];
    installCommand: string;
    /** The project's .npmrc skips onnxruntime-node's download (true in this repository). */
    npmrcSkips: boolean;
    /** onnxruntime-node is approved in package.json `allowScripts`. */
    scriptApproved: boolean;
  };
}

function run(cmd: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 5000 }, (err, stdout, stderr) => resolve(err ? null : `${stdout}${stderr}`.trim()));
  });
}

function simdFlags(): string[] {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => /^flags\s*:/.test(l)) ?? '';
    const flags = new Set(line.replace(/^flags\s*:/, '').trim().split(/\s+/));
    return ['avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512_vnni', 'avx_vnni', 'avx512_bf16', 'avx512_fp16', 'amx_tile', 'amx_int8', 'amx_bf16'].filter((f) => flags.has(f));
  } catch {
    return [];
  }
}

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function ortPackage(): { version: string; binDir: string } {
  const req = createRequire(import.meta.url);
  const pkgJson = req.resolve('onnxruntime-node/package.json');
  const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  return { version, binDir: join(dirname(pkgJson), 'bin', 'napi-v6', process.platform, process.arch) };
}

async function checkProvider(name: string, bundled: boolean, binDir: string): Promise<ProviderCheck> {
  const libs = name === 'cuda' ? CUDA_LIBRARIES : name === 'tensorrt' ? TENSORRT_LIBRARIES : [];
  const missingLibraries = libs.filter((l) => !existsSync(join(binDir, l)));
  let problem: string | null;
  if (name === 'cpu' || name === 'cuda' || name === 'webgpu') problem = await deviceProblem(name as DeviceName);
  else problem = missingLibraries.length ? `its provider libraries are not installed` : 'llmbench does not drive this provider (use cuda)';
  return { name, bundled, usable: problem === null, problem, missingLibraries };
}

/** Collects the report (a few seconds at most: trial sessions, nvidia-smi, nginx -v). */
export async function collectDoctorReport(): Promise<DoctorReport> {
  const { version, binDir } = ortPackage();
  // The trial sessions of missing providers would print onnxruntime's own load errors; the report says it better.
  ort.env.logLevel = 'fatal';
  const backends = ort.listSupportedBackends();
  const [providers, int8Dot, gpus, smi, nginxV, npmV] = await Promise.all([
    Promise.all(backends.map((b) => checkProvider(b.name, b.bundled, binDir))),
    detectInt8Dot(),
    gpuNames(),
    run('nvidia-smi', ['-L']),
    run('nginx', ['-v']),
    run('npm', ['--version']),
  ]);
  const npmrc = existsSync(join(PACKAGE_ROOT, '.npmrc')) ? readFileSync(join(PACKAGE_ROOT, '.npmrc'), 'utf8') : '';
  const npmrcSkips = /^\s*onnxruntime-node-install\s*=\s*skip\s*$/m.test(npmrc);
  let scriptApproved = false;
  try {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, unknown> };
    scriptApproved = Object.keys(pkg.allowScripts ?? {}).some((k) => k === 'onnxruntime-node' || k.startsWith('onnxruntime-node@'));
  } catch {
    scriptApproved = false;
  }
  const cuda = providers.find((p) => p.name === 'cuda');
  const blockers: string[] = [];
  if (process.platform !== 'linux' || process.arch !== 'x64') blockers.push(`onnxruntime-node ships CUDA providers for linux/x64 only (this is ${process.platform}/${process.arch})`);
  if (cuda && cuda.missingLibraries.length) {
    blockers.push(`onnxruntime-node's CUDA provider libraries are not installed (${cuda.missingLibraries.join(', ')} missing in ${binDir}): they are not in the npm package; its install script downloads them`);
    if (npmrcSkips) blockers.push("this project's .npmrc sets onnxruntime-node-install=skip, so that download is skipped (it fails offline); the ONNXRUNTIME_NODE_INSTALL environment variable overrides it");
    if (!scriptApproved && Number((npmV ?? '0').split('.')[0]) >= 11) blockers.push("npm 11 runs a dependency's install script only once it is approved in package.json allowScripts (npm install-scripts approve)");
  }
  if (smi === null) blockers.push('nvidia-smi was not found or failed: no NVIDIA driver visible (GPU memory cannot be measured either)');
  if (cuda && !cuda.usable && !cuda.missingLibraries.length) blockers.push(`the cuda provider failed its trial session: ${cuda.problem ?? 'unknown reason'} (CUDA 12 runtime and cuDNN 9 libraries must be on the loader path)`);
  const root = cacheRoot();
  return {
    cpu: { model: os.cpus()[0]?.model.trim() ?? 'unknown', cores: os.cpus().length, arch: process.arch, simd: simdFlags(), int8Dot },
    node: process.version,
    npm: npmV,
    onnxruntime: version,
    onnxruntimeBinDir: binDir,
    providers,
    nvidiaSmi: { found: smi !== null, gpus },
    cache: { dir: root, exists: existsSync(root) },
    nginx: nginxV === null ? null : nginxV.replace(/^nginx version:\s*/, ''),
    cuda: { blockers: cuda?.usable ? [] : blockers, installCommand: CUDA_INSTALL_COMMAND, npmrcSkips, scriptApproved },
  };
}

/** The report as the terminal shows it (pure). */
export function formatDoctorReport(r: DoctorReport): string {
  const yes = (b: boolean): string => (b ? 'yes' : 'no');
  const lines = [
    'llmbench doctor',
    `  CPU            ${r.cpu.model}, ${r.cpu.cores} cores, ${r.cpu.arch}`,
    `  SIMD           ${r.cpu.simd.join(' ') || 'none of the listed x86 extensions (or not x86)'}`,
    `  int8 dot       ${r.cpu.int8Dot.saturates ? 'saturates (uint8 x int8 pairs clip at 16 bits): int8 models quantized here use 7-bit weights' : 'exact: int8 models use 8-bit weights'} (probe ${r.cpu.int8Dot.probeActual} for ${r.cpu.int8Dot.probeExact})`,
    `  Node           ${r.node}${r.npm ? `, npm ${r.npm}` : ''}`,
    `  onnxruntime    ${r.onnxruntime} (${r.onnxruntimeBinDir})`,
    '  providers:',
    ...r.providers.map((p) => `    ${p.name.padEnd(9)} ${p.usable ? 'usable' : `not usable: ${p.problem ?? 'unknown'}`}${p.bundled ? '' : ' [libraries not bundled in the npm package]'}`),
    `  nvidia-smi     ${r.nvidiaSmi.found ? (r.nvidiaSmi.gpus ?? 'found, no GPU listed') : 'not found'}`,
    `  nginx          ${r.nginx ?? 'not found (needed only for balancer kind nginx: apt-get install -y nginx)'}`,
    `  model cache    ${r.cache.dir}${r.cache.exists ? '' : ' (not created yet)'}`,
  ];
  if (r.cuda.blockers.length) {
    lines.push('', 'CUDA is not usable here, because:');
    r.cuda.blockers.forEach((b, i) => lines.push(`  ${i + 1}. ${b}`));
    lines.push('', 'On a Linux x64 machine with an NVIDIA driver, CUDA 12 and cuDNN 9, and internet access, install the provider with:', `  ${r.cuda.installCommand}`);
    lines.push(`  (.npmrc skip: ${yes(r.cuda.npmrcSkips)}, install script approved: ${yes(r.cuda.scriptApproved)}); then check again with llmbench doctor.`);
  } else {
    lines.push('', 'CUDA: usable (a trial session started on the cuda provider).');
  }
  return `${lines.join('\n')}\n`;
}
