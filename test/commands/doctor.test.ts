// `llmbench doctor` on whatever machine runs the tests: every provider is tried for real, and what it says
// about CUDA follows from what is actually installed (no GPU is assumed either way).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/program.js';
import { collectDoctorReport, CUDA_INSTALL_COMMAND, formatDoctorReport } from '../../src/commands/doctor.js';
import { detectInt8Dot } from '../../src/quantize/int8Dot.js';

describe('llmbench doctor', () => {
  it('reports the CPU probe, usable providers, and for CUDA what is missing and the command that installs it', async () => {
    const r = await collectDoctorReport();
    expect(r.cpu.int8Dot).toEqual(await detectInt8Dot());
    expect(r.cpu.cores).toBeGreaterThan(0);
    const cpu = r.providers.find((p) => p.name === 'cpu');
    expect(cpu?.usable).toBe(true);
    const cuda = r.providers.find((p) => p.name === 'cuda');
    expect(cuda).toBeDefined();
    // The repository's .npmrc skips onnxruntime's CUDA download; doctor reads it rather than assuming it.
    expect(r.cuda.npmrcSkips).toBe(/onnxruntime-node-install\s*=\s*skip/.test(readFileSync(join(import.meta.dirname, '../../.npmrc'), 'utf8')));
    const libsThere = existsSync(join(r.onnxruntimeBinDir, 'libonnxruntime_providers_cuda.so'));
    expect(cuda?.missingLibraries.includes('libonnxruntime_providers_cuda.so')).toBe(!libsThere);
    if (!libsThere) {
      expect(cuda?.usable).toBe(false);
      expect(r.cuda.blockers[0]).toContain('libonnxruntime_providers_cuda.so');
      const text = formatDoctorReport(r);
      expect(text).toContain('CUDA is not usable here, because:');
      expect(text).toContain(CUDA_INSTALL_COMMAND);
    }
    if (cuda?.usable) expect(r.cuda.blockers).toEqual([]);
    expect(r.cuda.installCommand).toBe('npm install-scripts approve onnxruntime-node && ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node');
  });

  it('doctor --json prints one JSON object and exits 0', async () => {
    let out = '';
    const w = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
      out += String(c);
      return true;
    });
    try {
      expect(await main(['node', 'llmbench', 'doctor', '--json'])).toBe(0);
    } finally {
      w.mockRestore();
    }
    const parsed = JSON.parse(out) as { providers: { name: string }[]; cpu: { int8Dot: { saturates: boolean } } };
    expect(parsed.providers.map((p) => p.name)).toContain('cpu');
    expect(typeof parsed.cpu.int8Dot.saturates).toBe('boolean');
  });
});
