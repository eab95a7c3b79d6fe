// npm run bench:fit — the weight fit's inner loops: plain JS vs the WebAssembly SIMD kernels (same bits for
// axpy), interleaved rounds, medians; then the wall time of fitting each preset's weights (tokenizer included).
import { fitKernels } from '../dist/modelgen/fitKernels.js';
import { PRESETS } from '../dist/modelgen/presets.js';
import { fitPresetModel } from '../dist/modelgen/fitPreset.js';

const V = 5145; // the gpt2 preset's real vocabulary
const R = 64;
const rounds = Number(process.argv[2] ?? 5);
const k = fitKernels(R * V * 12 + (1 << 20));
const buf = k.memory.buffer;
const rowsPtr = 0;
const xPtr = R * V * 8;
const rows = new Float64Array(buf, rowsPtr, R * V);
const xs = new Float32Array(buf, xPtr, R * V);
for (let i = 0; i < xs.length; i++) xs[i] = Math.fround(Math.sin(i) * 0.1);

function jsAxpy() {
  for (let r = 0; r < R; r++) for (let c = 0; c < R; c++) {
    const a = 0.001 * c;
    const lo = r * V;
    const off = c * V;
    for (let j = 0; j < V; j++) rows[lo + j] = rows[lo + j] + a * xs[off + j];
  }
}
function wasmAxpy() {
  for (let r = 0; r < R; r++) for (let c = 0; c < R; c += 4) {
    const p = (t) => xPtr + (c + t) * V * 4;
    k.axpy32x4(rowsPtr + r * V * 8, p(0), p(1), p(2), p(3), 0.001 * c, 0.001 * (c + 1), 0.001 * (c + 2), 0.001 * (c + 3), V);
  }
}
function jsDot() {
  let s = 0;
  for (let r = 0; r < R; r++) for (let c = 0; c < R; c++) {
    let g = 0;
    const lo = r * V;
    const off = c * V;
    for (let j = 0; j < V; j++) g += rows[lo + j] * xs[off + j];
    s += g;
  }
  return s;
}
function wasmDot() {
  let s = 0;
  for (let r = 0; r < R; r++) for (let c = 0; c < R; c++) s += k.dot32(rowsPtr + r * V * 8, xPtr + c * V * 4, V);
  return s;
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const macs = R * R * V;
const times = { jsAxpy: [], wasmAxpy: [], jsDot: [], wasmDot: [] };
const fns = { jsAxpy, wasmAxpy, jsDot, wasmDot };
for (let i = 0; i < rounds; i++) {
  for (const [name, fn] of Object.entries(fns)) {
    const t0 = performance.now();
    fn();
    times[name].push(((performance.now() - t0) * 1e6) / macs);
  }
}
console.log(`inner loops, ${rounds} interleaved rounds, ns per multiply-add (median):`);
for (const [name, t] of Object.entries(times)) console.log(`  ${name.padEnd(9)} ${median(t).toFixed(3)}`);
console.log(`  axpy speedup ${(median(times.jsAxpy) / median(times.wasmAxpy)).toFixed(2)}x, dot speedup ${(median(times.jsDot) / median(times.wasmDot)).toFixed(2)}x`);
for (const name of (process.argv[3] ?? 'tiny,small').split(',')) {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await fitPresetModel(PRESETS[name], 42);
  const cpu = process.cpuUsage(cpu0);
  console.log(`fit ${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU`);
}
