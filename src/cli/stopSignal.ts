// How a long-running command (serve, balance) learns it should stop: SIGTERM, SIGINT, or, when started by a
// launcher with --exit-with-parent, its stdin closing because the parent died.

/** A promise that resolves on the first stop request, and a release for stdin once the command is done. */
export function stopSignal(exitWithParent: boolean): { stopRequested: Promise<void>; release(): void } {
  const stopRequested = new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
    if (exitWithParent) {
      process.stdin.once('end', () => resolve());
      process.stdin.once('close', () => resolve());
      process.stdin.resume();
    }
  });
  // An open stdin would keep the process alive after the command stopped.
  return { stopRequested, release: () => (exitWithParent ? void process.stdin.destroy() : undefined) };
}
