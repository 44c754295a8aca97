/**
 * @module The process's own stdout and stderr without node streams: `process.stdout` loads Bun's node:stream
 * machinery (about 4 MB of a gateway's idle memory, issue 7), so the log and the CLI write through Bun's native
 * writers and ask the terminal question of the file descriptor itself.
 */
import { fstatSync, readlinkSync } from 'node:fs';

/** Whether fd 1 or 2 is a terminal: a character device that is a tty (not /dev/null). */
export function isTerminal(fd: 1 | 2): boolean {
  try {
    if (!fstatSync(fd).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  try {
    return /^\/dev\/(?:pts\/|tty|console)/.test(readlinkSync(`/proc/self/fd/${fd}`));
  } catch {
    // No /proc (macOS): a character device that is not null is taken for a terminal.
    return true;
  }
}

/**
 * A writer for fd 1 or 2: each text is handed to the descriptor at once (what the pipe cannot take yet is kept in
 * order and written when it can). Write errors (a closed stdout) are swallowed: output must never take the process down.
 */
export function fdWriter(fd: 1 | 2): (text: string) => void {
  let sink: ReturnType<typeof Bun.stdout.writer> | undefined;
  return (text) => {
    try {
      sink ??= (fd === 1 ? Bun.stdout : Bun.stderr).writer();
      sink.write(text);
      const flushed = sink.flush();
      if (typeof flushed !== 'number') flushed.catch(() => {});
    } catch {
      // stdout closed
    }
  };
}
