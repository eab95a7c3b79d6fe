// report.md's device placement section and the warning for a GPU pipeline whose nodes partly ran on the CPU.
import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../src/report/markdown.js';
import { placementSection } from '../../src/report/placementSection.js';
import { validityWarnings } from '../../src/report/warnings.js';
import type { PlacementReport } from '../../src/types.js';
import { generateStudyResult } from '../fixtures/generateResult.js';

const onGpu: PlacementReport = { requested: 'CUDAExecutionProvider', providers: [{ provider: 'CUDAExecutionProvider', nodes: 120, ops: {} }], totalNodes: 120, cpuFallbackNodes: 0 };
const partly: PlacementReport = {
  requested: 'CUDAExecutionProvider',
  providers: [
    { provider: 'CUDAExecutionProvider', nodes: 110, ops: { MatMul: 100, Add: 10 } },
    { provider: 'CPUExecutionProvider', nodes: 10, ops: { Shape: 6, Gather: 4 } },
  ],
  totalNodes: 120,
  cpuFallbackNodes: 10,
};

describe('device placement in the report', () => {
  it('nothing when no pipeline was checked', () => {
    const r = generateStudyResult();
    expect(placementSection(r)).toBe('');
    expect(validityWarnings(r).join('\n')).not.toMatch(/fell back/);
  });

  it('a row per checked server, and a warning only for the pipeline with CPU fallback', async () => {
    const r = generateStudyResult();
    const [base, variant] = r.pipelines;
    if (!base || !variant) throw new Error('fixture has two pipelines');
    base.placement = [{ process: 'replica-0', placement: onGpu }];
    variant.placement = [{ process: 'replica-0', placement: partly }];
    const section = placementSection(r);
    expect(section).toContain(`| ${base.name} | replica-0 | CUDAExecutionProvider | 0 | all 120 nodes on CUDAExecutionProvider |`);
    expect(section).toContain(`| ${variant.name} | replica-0 | CUDAExecutionProvider | 10 | 10 of 120 nodes fell back to CPU:`);
    const warnings = validityWarnings(r).filter((w) => w.includes('fell back'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`${variant.name} (replica-0): 10 of 120 nodes fell back to CPU`);
    expect(warnings[0]).toContain('Shapex6, Gatherx4');
    expect((await renderMarkdown(r, [])).markdown).toContain('## Device placement');
  });
});
