// npm run bench:malloc [-- MODEL QUANT ROUNDS THRESHOLD] — output tokens/s of `llmbench serve` with glibc's
// default mmap threshold vs MALLOC_MMAP_THRESHOLD_=THRESHOLD (default 32768, what the servers llmbench starts
// get): the env A/B of bench/envab.mjs, alternating fresh servers ROUNDS times each. Loopback only.
import { envAb } from './envab.mjs';

const [model = 'gpt2', quant = 'int4', roundsArg = '3', threshold = '32768'] = process.argv.slice(2);
await envAb(`MALLOC_MMAP_THRESHOLD_=${threshold}`, model, quant, Number(roundsArg));
