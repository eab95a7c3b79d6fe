// --variant on quantize, generate, eval and split: the same file choice and the same errors as serve --variant.
// The folder holds onnx/model.onnx (seed 1), onnx/model_alt.onnx (seed 2, same shape) and model_fp16.onnx, so
// which file a command used shows in its output; each result is compared with the same command run on a
// folder whose only file is the chosen one.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGenerateCommand } from '../../src/commands/generate.js';
import { evaluateModelDetailed } from '../../src/eval/eval.js';
import { writeLlamaFixture } from '../../src/modelgen/llamaFixture.js';
import { quantizeModelDir } from '../../src/quantize/quantize.js';
import { splitModel } from '../../src/split/splitModel.js';
import { runCli } from '../helpers/inProcessCli.js';

let root: string;
let multi: string;
let altOnly: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'llmbench-variant-cmds-'));
  multi = (await writeLlamaFixture({ outDir: join(root, 'multi'), dtype: 'float32', seed: 1 })).dir;
  altOnly = (await writeLlamaFixture({ outDir: join(root, 'alt-only'), dtype: 'float32', seed: 2 })).dir;
  copyFileSync(join(altOnly, 'onnx', 'model.onnx'), join(multi, 'onnx', 'model_alt.onnx'));
  const f16 = await writeLlamaFixture({ outDir: join(root, 'f16'), dtype: 'float16', seed: 1 });
  copyFileSync(join(f16.dir, f16.onnxFile), join(multi, 'onnx', 'model_fp16.onnx'));
  mkdirSync(join(root, 'out'));
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

const greedy = { prompt: 'the cat', maxTokens: 6, device: 'cpu' as const, threads: 1, temperature: 0, topP: 1, seed: null };

describe('--variant outside serve', () => {
  it('quantize --variant alt quantizes onnx/model_alt.onnx: the same bytes as quantizing a folder holding only that file', async () => {
    const s = await quantizeModelDir(multi, 'int4', { variant: 'alt', outDir: join(root, 'out', 'q-alt') });
    expect(s.srcOnnxFile).toBe('onnx/model_alt.onnx');
    expect(s.variant).toBe('alt');
    const ref = await quantizeModelDir(altOnly, 'int4', { outDir: join(root, 'out', 'q-ref') });
    expect(Buffer.compare(readFileSync(join(s.outDir, 'onnx', 'model.onnx')), readFileSync(join(ref.outDir, 'onnx', 'model.onnx')))).toBe(0);
    const cfg = JSON.parse(readFileSync(join(s.outDir, 'config.json'), 'utf8')) as { llmbench_quantization: { source_onnx_file: string } };
    expect(cfg.llmbench_quantization.source_onnx_file).toBe('onnx/model_alt.onnx');
    // The fp16 variant is read as it is: int8 rewrites its float16 weights, --method fp16 has nothing to convert.
    const f16 = await quantizeModelDir(multi, 'int8', { variant: 'fp16', outDir: join(root, 'out', 'q-f16'), weightRange: '8bit' });
    expect(f16.srcOnnxFile).toBe('onnx/model_fp16.onnx');
    expect(f16.rewritten).toBe(s.rewritten);
    await expect(quantizeModelDir(multi, 'fp16', { variant: 'fp16', outDir: join(root, 'out', 'q-f16-f16') })).rejects.toThrow(/nothing to quantize: .*already float16/);
  }, 60_000);

  it('quantize: a missing variant lists the folder\'s variants, a malformed one is refused with serve\'s wording (exit 2)', async () => {
    const missing = await runCli(['quantize', multi, '--method', 'int8', '--variant', 'q4', '--out', join(root, 'out', 'x')]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(`error: ${multi}: no variant "q4" (looked for onnx/model_q4.onnx, onnx/decoder_model_merged_q4.onnx)`);
    expect(missing.stderr).toContain('hint: Variants in this folder: fp32 (onnx/model.onnx), alt, fp16.');
    const bad = await runCli(['quantize', multi, '--method', 'int8', '--variant', '../x', '--out', join(root, 'out', 'y')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('error: --variant: letters and digits only (the <variant> of onnx/model_<variant>.onnx), got "../x"\n');
    const printed = await runCli(['quantize', multi, '--method', 'int4', '--variant', 'alt', '--out', join(root, 'out', 'q-cli')]);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toContain(`quantized ${multi} (onnx/model_alt.onnx) -> ${join(root, 'out', 'q-cli')}: int4`);
  }, 60_000);

  it('generate --variant alt runs onnx/model_alt.onnx (same greedy text as the alt-only folder)', async () => {
    const a = await runGenerateCommand({ ...greedy, model: multi, variant: 'alt' });
    const b = await runGenerateCommand({ ...greedy, model: altOnly });
    expect(a.onnxFile).toBe('onnx/model_alt.onnx');
    expect(a.outputTokens).toBeGreaterThan(0);
    expect(a.text).toBe(b.text);
    const plain = await runGenerateCommand({ ...greedy, model: multi });
    expect(plain.onnxFile).toBe('onnx/model.onnx');
    const cli = await runCli(['generate', '--model', multi, '--variant', 'nope', '--prompt', 'x']);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain('hint: Variants in this folder: fp32 (onnx/model.onnx), alt, fp16.');
  }, 60_000);

  it('eval --variant / --reference-variant compare two files of one folder', async () => {
    const opts = { maxEvalTokens: 48, windowTokens: 48, greedyPrompts: 1, maxTokens: 2 };
    const d = await evaluateModelDetailed(multi, multi, { ...opts, sessionOptions: { variant: 'alt' }, referenceVariant: 'fp32' });
    expect(d.modelFile).toBe('onnx/model_alt.onnx');
    expect(d.referenceFile).toBe('onnx/model.onnx');
    expect(d.report.meanKl).toBeGreaterThan(0);
    // alt against the folder holding only the alt file: the same model, so no difference at all.
    const same = await evaluateModelDetailed(multi, altOnly, { ...opts, sessionOptions: { variant: 'alt' } });
    expect(same.report.meanKl).toBe(0);
    expect(same.report.top1Agreement).toBe(1);
    const cli = await runCli(['eval', multi, '--variant', 'alt', '--reference-variant', 'fp32', '--eval-tokens', '32', '--max-tokens', '0']);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain(`model:     ${multi} (onnx/model_alt.onnx)`);
    expect(cli.stdout).toContain(`reference: ${multi} (onnx/model.onnx)`);
    const bad = await runCli(['eval', multi, '--reference-variant', 'a/b']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('error: --reference-variant: letters and digits only (the <variant> of onnx/model_<variant>.onnx), got "a/b"\n');
  }, 60_000);

  it('splitModel({ variant }) splits onnx/model_alt.onnx', async () => {
    const r = await splitModel(multi, { stages: 2 }, { variant: 'alt', outDir: join(root, 'out', 'split-alt') });
    expect(r.manifest.source.onnxFile).toBe('onnx/model_alt.onnx');
    const ref = await splitModel(altOnly, { stages: 2 }, { outDir: join(root, 'out', 'split-ref') });
    for (const st of r.manifest.stages) expect(Buffer.compare(readFileSync(join(r.dir, st.file)), readFileSync(join(ref.dir, st.file))), st.file).toBe(0);
    await expect(splitModel(multi, { stages: 2 }, { variant: 'q4' })).rejects.toThrow(/no variant "q4"/);
  }, 60_000);
});
