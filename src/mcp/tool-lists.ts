/** @module Pure edits and checks of a backend's `tools.allow`/`tools.deny` globs (issue 9 item 8). */
import { globMatch } from './catalog.ts';

/** The result of enabling/disabling tools: the new lists, and tools a glob still hides (the operator must edit that glob). */
export interface ToolListEdit {
  allow: string[];
  deny: string[];
  /** `tool` stays hidden by the deny glob `glob`, which names more than this tool. */
  stillHidden: { tool: string; glob: string }[];
}

/**
 * Disabling adds the tool to `deny` (unless a deny glob covers it already) and drops its exact entry from a longer
 * `allow`; enabling drops its exact entry from `deny` and, when `allow` does not cover it, adds it there.
 * An empty `allow` would mean "every tool", so it is never emptied.
 */
export function editToolLists(allow: readonly string[], deny: readonly string[], enable: readonly string[], disable: readonly string[]): ToolListEdit {
  let a = [...allow];
  let d = [...deny];
  for (const tool of disable) {
    if (a.includes(tool) && a.length > 1) a = a.filter((g) => g !== tool);
    if (!d.some((g) => globMatch(g, tool))) d.push(tool);
  }
  const stillHidden: { tool: string; glob: string }[] = [];
  for (const tool of enable) {
    d = d.filter((g) => g !== tool);
    const glob = d.find((g) => globMatch(g, tool));
    if (glob) stillHidden.push({ tool, glob });
    if (!a.some((g) => globMatch(g, tool))) a.push(tool);
  }
  return { allow: a, deny: d, stillHidden };
}

/** Globs in allow/deny that match none of `tools` (a typo, or a tool the backend no longer has); `*` never counts. */
export function unmatchedGlobs(lists: { allow: readonly string[]; deny: readonly string[] }, tools: readonly string[]): { list: 'allow' | 'deny'; glob: string }[] {
  const out: { list: 'allow' | 'deny'; glob: string }[] = [];
  for (const list of ['allow', 'deny'] as const) {
    for (const glob of lists[list]) if (glob !== '*' && !tools.some((t) => globMatch(glob, t))) out.push({ list, glob });
  }
  return out;
}

/** Why a tool is hidden by the lists, or undefined when it is exposed (deny wins, as in toolAllowed). */
export function hiddenBecause(lists: { allow: readonly string[]; deny: readonly string[] }, tool: string): string | undefined {
  const deny = lists.deny.find((g) => globMatch(g, tool));
  if (deny) return `deny ${deny}`;
  if (lists.allow.length > 0 && !lists.allow.some((g) => globMatch(g, tool))) return 'not in allow';
  return undefined;
}
