import { beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { registerCompletion } from '../../cmd/completion.ts';
import type { CliContext } from '../../cmd/context.ts';
import { registerFunnel } from '../../cmd/funnel.ts';
import { createProgram } from '../../cmd/program.ts';
import { BINARY, ensureBinary, runBinary, runCli, scriptedInput } from '../helpers/cli.ts';

/** The real tree (createProgram, with `serve`), this change's funnel and completion, and a command added later. */
function register(program: Command, ctx: CliContext): void {
  const real = createProgram(ctx.io, ctx.deps, ctx.result);
  for (const cmd of real.commands.filter((c) => !['funnel', 'completion', '__complete'].includes(c.name()))) program.addCommand(cmd);
  registerFunnel(program, ctx, scriptedInput([]));
  program.command('zz-new').description('a command added later').option('--flag-of-new', 'x');
  registerCompletion(program, ctx);
}

async function script(shell: string): Promise<string> {
  const r = await runCli(['completion', shell], { register });
  expect(r.code).toBe(0);
  return r.stdout;
}

/** Runs the bash completion function for a command line (the last word is the one being completed). */
function completeBash(bashScript: string, line: string[], cwd?: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'mcpgw-completion-'));
  try {
    writeFileSync(join(dir, 'c.bash'), bashScript);
    const words = line.map((w) => `'${w}'`).join(' ');
    const prog = `source ${join(dir, 'c.bash')}; COMP_WORDS=(${words}); COMP_CWORD=${line.length - 1}; _mcpgw; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = Bun.spawnSync(['bash', '-c', prog], { cwd: cwd ?? dir, stdout: 'pipe', stderr: 'pipe' });
    expect(r.stderr.toString()).toBe('');
    return r.stdout.toString().split('\n').filter(Boolean);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('mcpgw completion', () => {
  for (const shell of ['bash', 'zsh', 'fish']) {
    test(`${shell}: mentions serve and commands added later`, async () => {
      const s = await script(shell);
      expect(s).toContain('serve');
      expect(s).toContain('funnel');
      expect(s).toContain('zz-new');
      expect(s).toContain('flag-of-new');
    });
  }

  test('bash: the script passes bash -n', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpgw-completion-'));
    try {
      writeFileSync(join(dir, 'c.bash'), await script('bash'));
      const r = Bun.spawnSync(['bash', '-n', join(dir, 'c.bash')], { stdout: 'pipe', stderr: 'pipe' });
      expect(r.stderr.toString()).toBe('');
      expect(r.exitCode).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('bash: completes commands, arguments with choices, options, and files after --config', async () => {
    const s = await script('bash');
    expect(completeBash(s, ['mcpgw', 'fu'])).toEqual(['funnel']);
    expect(completeBash(s, ['mcpgw', 'funnel', ''])).toEqual(['on', 'off', 'status', '-c', '--config', '-y', '--yes', '--json', '-h', '--help']);
    expect(completeBash(s, ['mcpgw', 'funnel', '--config', 'x.yaml', 'o'])).toEqual(['on', 'off']);
    expect(completeBash(s, ['mcpgw', 'serve', '--c'])).toEqual(['--config']);
    expect(completeBash(s, ['mcpgw', 'completion', ''])).toEqual(['bash', 'zsh', 'fish', '-h', '--help']);
    const dir = mkdtempSync(join(tmpdir(), 'mcpgw-completion-files-'));
    try {
      writeFileSync(join(dir, 'gateway.yaml'), '');
      expect(completeBash(s, ['mcpgw', 'serve', '--config', 'gat'], dir)).toEqual(['gateway.yaml']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('zsh: the script passes zsh -n', async () => {
    const r = Bun.spawnSync(['zsh', '-n'], { stdin: new Blob([await script('zsh')]), stdout: 'pipe', stderr: 'pipe' });
    expect(r.exitCode).toBe(0);
  });

  test('fish: the script passes fish --no-execute', async () => {
    const r = Bun.spawnSync(['fish', '--no-execute'], { stdin: new Blob([await script('fish')]), stdout: 'pipe', stderr: 'pipe' });
    expect(r.exitCode).toBe(0);
  });

  test('fish: completes commands and argument choices', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpgw-completion-'));
    try {
      writeFileSync(join(dir, 'mcpgw.fish'), await script('fish'));
      const complete = (line: string) => {
        const r = Bun.spawnSync(['fish', '--no-config', '-c', `source ${join(dir, 'mcpgw.fish')}; complete -C '${line}'`], { stdout: 'pipe', stderr: 'pipe' });
        return r.stdout.toString().split('\n').filter(Boolean).map((l) => l.split('\t')[0]).sort();
      };
      expect(complete('mcpgw fu')).toEqual(['funnel']);
      expect(complete('mcpgw funnel --config x.yaml ')).toEqual(['off', 'on', 'status']);
      expect(complete('mcpgw zz-new --fl')).toEqual(['--flag-of-new']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an unknown shell is a usage error', async () => {
    const r = await runCli(['completion', 'tcsh'], { register });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: command-argument value 'tcsh' is invalid for argument 'shell'");
  });

  test('--help has a description and examples', async () => {
    const r = await runCli(['completion', '--help'], { register });
    expect(r.stdout).toContain('Print a shell completion script for bash, zsh or fish');
    expect(r.stdout).toContain('Examples:');
  });
});

describe('mcpgw completion (compiled binary)', () => {
  beforeAll(() => ensureBinary());

  test('bash: mentions serve and passes bash -n', async () => {
    const r = await runBinary(['completion', 'bash']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('serve');
    const check = Bun.spawnSync(['bash', '-n'], { stdin: new Blob([r.stdout]), stdout: 'pipe', stderr: 'pipe' });
    expect(check.exitCode).toBe(0);
  });

  test('zsh and fish: mention serve', async () => {
    for (const shell of ['zsh', 'fish']) {
      const r = await runBinary(['completion', shell]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('serve');
    }
  });
});

describe('issue 9 item 8: completion of backend names and grant ids (compiled binary)', () => {
  beforeAll(() => ensureBinary());

  test('bash, zsh and fish offer the config\'s backend names and the database\'s grant ids, following --config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcpgw-completion-values-'));
    try {
      const config = join(dir, 'gateway.yaml');
      writeFileSync(config, `data_dir: ${join(dir, 'state')}\nauth: { mode: none }\nbackends:\n  alpha: { url: "http://127.0.0.1:1/mcp" }\n  beta: { command: "true" }\n`);
      expect((await runBinary(['tokens', 'create', '--name', 'laptop', '--config', config])).code).toBe(0);
      const grants = JSON.parse((await runBinary(['tokens', 'list', '--json', '--config', config])).stdout) as { grants: { id: string }[] };
      const grant = grants.grants[0].id;
      // The scripts call the program by the name the user typed: put the binary on PATH as mcpgw.
      symlinkSync(BINARY, join(dir, 'mcpgw'));
      const env = { PATH: `${dir}:${process.env.PATH}`, HOME: dir, NO_COLOR: '1' };

      const bash = (await runBinary(['completion', 'bash'])).stdout;
      writeFileSync(join(dir, 'c.bash'), bash);
      const completeBashIn = (line: string[]) => {
        const prog = `source ${join(dir, 'c.bash')}; COMP_WORDS=(${line.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${line.length - 1}; _mcpgw; printf '%s\\n' "\${COMPREPLY[@]}"`;
        return Bun.spawnSync(['bash', '-c', prog], { cwd: dir, env, stdout: 'pipe' }).stdout.toString().split('\n').filter(Boolean);
      };
      expect(completeBashIn(['mcpgw', 'backends', 'show', '--config', config, ''])).toEqual(expect.arrayContaining(['alpha', 'beta']));
      expect(completeBashIn(['mcpgw', 'backends', 'tools', '--config', config, 'b'])).toEqual(['beta']);
      expect(completeBashIn(['mcpgw', 'tokens', 'revoke', '--config', config, ''])).toContain(grant);
      // backends add takes a new name: nothing from the config is offered there.
      expect(completeBashIn(['mcpgw', 'backends', 'add', '--config', config, 'a'])).toEqual([]);

      writeFileSync(join(dir, 'mcpgw.fish'), (await runBinary(['completion', 'fish'])).stdout);
      const fish = Bun.spawnSync(['fish', '--no-config', '-c', `source ${join(dir, 'mcpgw.fish')}; complete -C 'mcpgw backends show --config ${config} '`], { env, stdout: 'pipe' });
      expect(fish.stdout.toString().split('\n').map((l) => l.split('\t')[0])).toEqual(expect.arrayContaining(['alpha', 'beta']));

      const zsh = (await runBinary(['completion', 'zsh'])).stdout;
      expect(zsh).toContain('__complete backends');
      expect(Bun.spawnSync(['zsh', '-n'], { stdin: new Blob([zsh]) }).exitCode).toBe(0);

      const values = await runBinary(['__complete', 'grants', '--config', config]);
      expect(values).toEqual({ code: 0, stdout: `${grant}\n`, stderr: '' });
      expect((await runBinary(['__complete', 'backends', '--config', join(dir, 'missing.yaml')])).stdout).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
