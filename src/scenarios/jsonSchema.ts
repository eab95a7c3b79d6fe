// JSON Schema for editors (yaml-language-server, VS Code), generated from the same zod definition.
import { z } from 'zod';
import { scenarioFileSchema } from './schema.js';

/** The scenario file format as a JSON Schema (draft 2020-12) object. */
export function scenarioJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(scenarioFileSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    ...schema,
    title: 'llmbench scenario',
    description: 'A baseline pipeline and optimized pipelines driven by the same seeded workload.',
  };
}
