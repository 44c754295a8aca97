/** @module Where gateway.yaml is: --config, $MCPGW_CONFIG, ./gateway.yaml, $XDG_CONFIG_HOME/mcpgw, /etc/mcpgw. */
import { statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

/** How to get a first config file; printed as `hint:` when none is found. */
export const START_HINT = "copy gateway.example.yaml to ./gateway.yaml, or run 'mcpgw init'";

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * Finds the config file. An explicit `--config FILE` or `$MCPGW_CONFIG` that does not exist is an error
 * (never a silent fallback); otherwise the first existing of ./gateway.yaml, `$XDG_CONFIG_HOME/mcpgw/gateway.yaml`
 * (XDG_CONFIG_HOME defaulting to `$HOME/.config`) and /etc/mcpgw/gateway.yaml. Returned paths are absolute.
 */
export function findConfigPath(opts: {
  flag?: string;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  exists?: (p: string) => boolean;
}): { path: string } | { error: string; hint: string; tried: string[] } {
  const exists = opts.exists ?? isFile;
  const explicit = opts.flag ? { path: opts.flag, from: '--config' } : opts.env.MCPGW_CONFIG ? { path: opts.env.MCPGW_CONFIG, from: '$MCPGW_CONFIG' } : undefined;
  if (explicit) {
    const path = resolve(opts.cwd, explicit.path);
    if (exists(path)) return { path };
    return { error: `config file not found: ${path} (from ${explicit.from})`, hint: `check the path, or ${START_HINT}`, tried: [path] };
  }
  const tried = candidatePaths(opts.env, opts.cwd);
  const found = tried.find((p) => exists(p));
  if (found) return { path: found };
  return { error: `no config file found; looked in ${tried.join(', ')}`, hint: START_HINT, tried };
}

function candidatePaths(env: Readonly<Record<string, string | undefined>>, cwd: string): string[] {
  // XDG Base Directory spec: a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const xdg = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : env.HOME ? join(env.HOME, '.config') : undefined;
  return [resolve(cwd, 'gateway.yaml'), ...(xdg ? [join(xdg, 'mcpgw', 'gateway.yaml')] : []), '/etc/mcpgw/gateway.yaml'];
}
