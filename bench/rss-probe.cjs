// Preloaded into a timed llmbench command by bench-scale.mjs: reports the process's peak RSS and CPU time (user +
// system, all threads) when it exits. CPU time is what the command would take on an idle core; wall time on a
// shared machine also counts the time other processes held the cores.
process.on('exit', () => {
  const u = process.resourceUsage();
  process.stderr.write(`\nLLMBENCH_MAX_RSS_KB=${u.maxRSS}\nLLMBENCH_CPU_US=${u.userCPUTime + u.systemCPUTime}\n`);
});
