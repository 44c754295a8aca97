/** @module The live `mcpgw status` dashboard: polls a snapshot source, redraws, `q` quits. */
import { useEffect, useState } from 'react';
import { Box, Text, render, renderToString, useApp, useInput } from 'ink';
import type { StatusSnapshot } from './events.ts';
import { StatusView } from './StatusView.tsx';

export interface StatusAppProps {
  load: () => Promise<StatusSnapshot | undefined>;
  intervalMs: number;
  color: boolean;
}

/** Polls `load` every `intervalMs`; shows the last snapshot, or why there is none. */
export function StatusApp({ load, intervalMs, color }: StatusAppProps) {
  const { exit } = useApp();
  const [snapshot, setSnapshot] = useState<StatusSnapshot | undefined>();
  const [gone, setGone] = useState(false);
  useInput((input, key) => {
    if (input === 'q' || key.escape || (key.ctrl && input === 'c')) exit();
  });
  useEffect(() => {
    let alive = true;
    const tick = async () => {
      const next = await load();
      if (!alive) return;
      setGone(next === undefined);
      if (next) setSnapshot(next);
    };
    void tick();
    const timer = setInterval(() => void tick(), intervalMs);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, [load, intervalMs]);
  return (
    <Box flexDirection="column">
      {snapshot ? <StatusView snapshot={snapshot} color={color} /> : <Text>connecting to the gateway…</Text>}
      {gone ? <Text color={color ? 'red' : undefined}>✗ the gateway stopped answering (is mcpgw serve running?)</Text> : null}
    </Box>
  );
}

/** Runs the dashboard until the user quits. */
export async function runStatusApp(props: StatusAppProps): Promise<void> {
  const app = render(<StatusApp {...props} />, { stdout: process.stdout, stdin: process.stdin, exitOnCtrlC: false });
  await app.waitUntilExit();
}

/** One frame as plain text (no TTY): the same view, rendered once. */
export function renderStatusText(snapshot: StatusSnapshot): string {
  return renderToString(<StatusView snapshot={snapshot} color={false} />, { columns: 120 });
}
