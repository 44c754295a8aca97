/**
 * @module Runtime tuning for `serve`, a long-running server. Both settings can only be read from the
 * environment at process start, so the compiled binary's `serve` re-executes itself once, in the same process
 * (same PID, same arguments), with them set; that costs about 20 ms of start-up.
 *
 * - `MIMALLOC_PURGE_DELAY=1000`: Bun's allocator (mimalloc) hands freed pages back to the kernel 10 ms after
 *   they are freed, so a gateway under steady load frees and faults back the same pages over and over: about
 *   5% of its CPU per forwarded call (its CPU per call over its stdio backend's, 3 alternating runs:
 *   1.03-1.06 before, 0.96-1.04 with a 1 s delay). Memory freed after a burst still goes back after a second.
 * - `BUN_JSC_useFTLJIT=0`: JavaScriptCore's last JIT tier (FTL) pays off for long-running hot JavaScript; a
 *   gateway's per-call work is mostly native (HTTP, JSON, SQLite). Without it, nothing is compiled on the
 *   side in the first minutes of load: over the bench's length (`bench/`, mcpgw over HTTP, 5 alternating
 *   runs each) CPU per call at C=32 was 120-139 µs against 132-178, at C=1 234-248 against 250-310; once
 *   warm (15 s of load first) it is the same. The FTL compiler's 1.5 MB of machine code is never paged in,
 *   so the first 1,000 sessions cost about 2 KB less each. Peak RSS under C=32: median 85 MB against 88
 *   (one run of the 5 reached 119 MB: without FTL's allocation sinking, more short-lived objects reach the
 *   GC, and its timing moves the peak).
 *
 * A value the operator set is kept as it is; stdio backends start with their own minimal environment and see
 * neither.
 */

/** The environment `serve` runs with, unless the operator set a variable already. */
export const SERVE_TUNING: Readonly<Record<string, string>> = { MIMALLOC_PURGE_DELAY: '1000', BUN_JSC_useFTLJIT: '0' };

/** What to execve for the compiled binary's `serve` with the tuning set; undefined when nothing is to be done. */
export function tunedExec(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  execPath: string,
): { file: string; args: string[]; env: Record<string, string> } | undefined {
  const missing = Object.keys(SERVE_TUNING).filter((k) => env[k] === undefined);
  if (missing.length === 0) return undefined;
  // Only the compiled binary: from source, `bun [runtime flags] cmd/mcpgw.ts` would lose its runtime flags.
  // process.argv is [runtime, script, ...arguments]; a compiled executable's script is its embedded /$bunfs path.
  if (!argv[1]?.startsWith('/$bunfs/')) return undefined;
  const args = argv.slice(2);
  if (args[0] !== 'serve') return undefined;
  const next: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) next[k] = v;
  for (const k of missing) next[k] = SERVE_TUNING[k]!;
  return { file: execPath, args: [execPath, ...args], env: next };
}
