/**
 * @module Allocator tuning for `serve`. Bun's allocator (mimalloc) hands freed pages back to the kernel 10 ms
 * after they are freed, so a gateway under steady load frees and faults back the same pages over and over:
 * about 5% of its CPU per forwarded call (its CPU per call over its stdio backend's, 3 alternating runs:
 * 1.03-1.06 before, 0.96-1.04 with a 1 s delay). mimalloc reads its options only from the environment at
 * process start, so `serve` re-executes itself once, in the same process (same PID, same arguments), with
 * MIMALLOC_PURGE_DELAY set; that costs about 20 ms of start-up. Memory freed after a burst still goes back
 * after a second. An operator's own MIMALLOC_PURGE_DELAY is kept as it is.
 */

export const PURGE_DELAY_VAR = 'MIMALLOC_PURGE_DELAY';
export const PURGE_DELAY_MS = '1000';

/** What to execve for the compiled binary's `serve` with the purge delay set; undefined when nothing is to be done. */
export function purgeDelayExec(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  execPath: string,
): { file: string; args: string[]; env: Record<string, string> } | undefined {
  if (env[PURGE_DELAY_VAR] !== undefined) return undefined;
  // Only the compiled binary: from source, `bun [runtime flags] cmd/mcpgw.ts` would lose its runtime flags.
  // process.argv is [runtime, script, ...arguments]; a compiled executable's script is its embedded /$bunfs path.
  if (!argv[1]?.startsWith('/$bunfs/')) return undefined;
  const args = argv.slice(2);
  if (args[0] !== 'serve') return undefined;
  const next: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) next[k] = v;
  next[PURGE_DELAY_VAR] = PURGE_DELAY_MS;
  return { file: execPath, args: [execPath, ...args], env: next };
}
