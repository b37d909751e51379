// A one-line progress bar on stderr, only on a terminal and only for long work.
export function progressBar(label: string, total: number, minTotal = 8): (done: number) => void {
  if (!process.stderr.isTTY || total < minTotal) return () => {};
  const width = 30;
  return (done) => {
    const filled = Math.round((width * done) / total);
    process.stderr.write(`\r${label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total}`);
    if (done >= total) process.stderr.write('\n');
  };
}
