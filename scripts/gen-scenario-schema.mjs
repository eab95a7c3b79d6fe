// Writes scenario.schema.json from the compiled zod definition (run after `tsc`): `npm run schema`.
import { writeFileSync } from 'node:fs';
import { scenarioJsonSchema } from '../dist/scenarios/jsonSchema.js';

const out = new URL('../scenario.schema.json', import.meta.url);
writeFileSync(out, `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${out.pathname}\n`);
