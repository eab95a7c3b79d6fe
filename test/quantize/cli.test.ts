// `llmbench quantize` and `llmbench eval --json` through the CLI entry (in process): the output a user and
// the run orchestrator read, and the exit code and message for a user mistake.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/inProcessCli.js';

const work = mkdtempSync(join(tmpdir(), 'llmbench-quant-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const cli = runCli;

describe('llmbench quantize / eval', () => {
  it('quantize prints the summary; eval --json prints exactly one QualityReport object', async () => {
    const q8 = join(work, 'q8');
    const q = await cli(['quantize', '--preset', 'tiny', '--method', 'int8', '--out', q8]);
    expect(q.code).toBe(0);
    expect(q.stdout).toMatch(/MatMuls rewritten: 9\n/);
    expect(q.stdout).toMatch(/skipped: {11}4\n {4}4 x non-constant weight: /);
    expect(q.stdout).toMatch(/weight bytes: [\d.]+ MB -> [\d.]+ MB \(\d+\.\d%\)/);
    // The weight range and the reason for it (the CPU probe) are printed and stored with the folder.
    expect(q.stdout).toMatch(/int8 weight range: (7bit|8bit) \(auto: onnxruntime's uint8 x int8 GEMM (saturates|is exact) on this CPU/);
    const info = JSON.parse(readFileSync(join(q8, 'llmbench_quantization.json'), 'utf8')) as { weightRange: { requested: string; used: string } };
    expect(info.weightRange.requested).toBe('auto');
    expect(q.stdout).toContain(`int8 weight range: ${info.weightRange.used} `);
    const forced = await cli(['quantize', '--preset', 'tiny', '--method', 'int8', '--weight-range', '7bit', '--out', `${q8}-7`]);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/int8 weight range: 7bit \(asked for 7bit; /);
    const bad = await cli(['quantize', '--preset', 'tiny', '--method', 'int8', '--weight-range', '6bit', '--out', `${q8}-6`]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('error: --weight-range: unknown weight range "6bit"\nhint: Choose one of: auto, 7bit, 8bit.\n');

    const r = await cli(['eval', q8, '--reference', 'tiny', '--json', '--eval-tokens', '64', '--max-tokens', '4']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    expect(Object.keys(report).sort()).toEqual(
      ['evalTokens', 'fileBytes', 'greedyAgreement', 'meanKl', 'perplexity', 'perplexityDeltaPct', 'referencePerplexity', 'top1Agreement', 'weightBytes'].sort(),
    );
    expect(report.evalTokens).toBe(64);
    for (const k of ['perplexity', 'referencePerplexity', 'meanKl', 'top1Agreement', 'greedyAgreement']) expect(typeof report[k]).toBe('number');

    const text = await cli(['eval', q8, '--eval-tokens', '32']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/perplexity: +[\d.e+]+\n/);
    expect(text.stdout).toContain('reference: (none');
  });

  it('an unknown method exits 2 with one clear line and the valid choices', async () => {
    const r = await cli(['quantize', 'tiny', '--method', 'int2', '--out', join(work, 'x')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: --method: unknown quantization method "int2"\nhint: Choose one of: int8, int4, int8-weight, fp16.\n');
  });

  it('needs exactly one of a model folder and --preset', async () => {
    const both = await cli(['quantize', 'tiny', '--preset', 'tiny', '--method', 'int8']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('error: quantize: give a model folder or --preset <name> (exactly one)');
    const bad = await cli(['quantize', '--preset', 'huge', '--method', 'int8']);
    expect(bad.stderr).toBe('error: --preset: unknown preset "huge"\nhint: Choose one of: tiny, small, gpt2.\n');
  });
});
