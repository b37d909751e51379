// Named failpoints: PANTHERAGENT_FAILPOINT=name[,name...] makes the process die with
// SIGKILL at that point, exactly as a power cut or OOM kill would, so tests can
// prove that the next run restores every invariant.
const active = new Set((process.env.PANTHERAGENT_FAILPOINT ?? '').split(',').filter(Boolean));

export function failpoint(name: string): void {
  if (active.has(name)) process.kill(process.pid, 'SIGKILL');
}
