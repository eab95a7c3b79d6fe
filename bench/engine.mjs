// npm run bench:engine — the benchmark runs when its compiled module loads.
await import('../dist/bench/engineBench.js');
