import { spawn, type ChildProcess } from 'node:child_process';
import * as vscode from 'vscode';
import { maskSecrets, rclone } from '../exporters';

/** What a transfer terminal runs: the program and its arguments (no shell), and how to show it. */
export interface TransferRun {
  /** The terminal's tab: never holds a secret. */
  name: string;
  /** The program as the user knows it ("azcopy", "rclone"), for messages. */
  tool: string;
  /** The full path of the program. */
  program: string;
  /** The arguments after the program (they may hold a SAS: shown only masked). */
  args: string[];
  /** The command line as the user would paste it; shown masked above the output. */
  line: string;
  cwd: string;
  log: vscode.LogOutputChannel;
}

const CTRL_C = '\x03';
const BOLD = '\x1b[1m';
const GREEN = '\x1b[32m';
const RED = '\x1b[31m';
const RESET = '\x1b[0m';
/** A line longer than this is shown even without its end (a secret is never that long). */
const MAX_PENDING = 64 * 1024;
/** A copy can run for hours, rewriting its progress line: only the end of what was shown is kept. */
const TRANSCRIPT_MAX = 256 * 1024;

/**
 * A terminal that runs one program without a shell (so the SAS never lands in a shell history), shows its
 * output with secrets masked, and stays open when it ends with "<program> exited with code N. Press any key
 * to close the terminal.", as VS Code's tasks do. Ctrl+C stops the program; closing the terminal stops it too.
 */
export class TransferTerminal implements vscode.Pseudoterminal {
  private readonly written = new vscode.EventEmitter<string>();
  private readonly closed = new vscode.EventEmitter<number | void>();
  private readonly renamed = new vscode.EventEmitter<string>();
  readonly onDidWrite = this.written.event;
  readonly onDidClose = this.closed.event;
  /** The tab's name gets the outcome at the end, so a terminal in the background says how it ended. */
  readonly onDidChangeName = this.renamed.event;
  private child: ChildProcess | undefined;
  private finished = false;
  /** Output not shown yet: the end of a line, kept until the line is complete so a secret is masked whole. */
  private pending = '';
  /** The last TRANSCRIPT_MAX characters written to the terminal (masked), for the integration suite. */
  transcript = '';
  /** The program's exit code (null when it was stopped by a signal or could not start). */
  readonly exited: Promise<number | null>;
  private resolveExit!: (code: number | null) => void;

  constructor(private readonly run: TransferRun) {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  /** Opens a terminal tab for the run and shows it. */
  static start(run: TransferRun): { terminal: vscode.Terminal; pty: TransferTerminal } {
    const pty = new TransferTerminal(run);
    const terminal = vscode.window.createTerminal({ name: run.name, pty, iconPath: new vscode.ThemeIcon('cloud-download') });
    terminal.show();
    return { terminal, pty };
  }

  open(): void {
    const { program, args, line, cwd, log } = this.run;
    this.write(`${BOLD}${maskSecrets(line)}${RESET}\r\nin ${cwd}\r\n\r\n`);
    let child: ChildProcess;
    try {
      // rclone gets the environment every rclone process of Exit Plan gets (rclone/environment.ts).
      const { env, args: globalArgs } = this.run.tool === 'rclone' ? rclone.rcloneEnvironment() : { env: process.env, args: [] };
      child = spawn(program, [...globalArgs, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      this.end(null, `Cannot start ${program}: ${maskSecrets((err as Error).message)}`);
      return;
    }
    this.child = child;
    log.info(`Running in a terminal (${this.run.name}): ${maskSecrets(line)}`);
    child.stdout?.on('data', (chunk: Buffer) => this.output(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.output(chunk));
    child.on('error', (err) => this.end(null, `Cannot start ${program}: ${maskSecrets(err.message)}`));
    child.on('close', (code, signal) => this.end(code, signal ? `${this.run.tool} was stopped (${signal}).` : undefined));
  }

  handleInput(data: string): void {
    if (this.finished) {
      this.closed.fire();
      return;
    }
    if (data.includes(CTRL_C)) {
      this.write('^C\r\n');
      this.child?.kill('SIGINT');
    }
  }

  /** The user closed the terminal: a program still running is stopped. */
  close(): void {
    if (!this.finished) this.child?.kill('SIGTERM');
  }

  private output(chunk: Buffer): void {
    this.pending += chunk.toString('utf8');
    const cut = Math.max(this.pending.lastIndexOf('\n'), this.pending.lastIndexOf('\r'));
    if (cut < 0 && this.pending.length < MAX_PENDING) return;
    const ready = cut < 0 ? this.pending : this.pending.slice(0, cut + 1);
    this.pending = cut < 0 ? '' : this.pending.slice(cut + 1);
    this.write(toTerminal(maskSecrets(ready)));
  }

  private end(code: number | null, problem?: string): void {
    if (this.finished) return;
    this.finished = true;
    if (this.pending) this.write(toTerminal(maskSecrets(this.pending)) + '\r\n');
    this.pending = '';
    const name = this.run.tool;
    const colour = code === 0 ? GREEN : RED;
    const status = problem ?? `${name} exited with code ${code}.`;
    this.write(`\r\n${BOLD}${colour}${status}${RESET} Press any key to close the terminal.\r\n`);
    this.run.log[code === 0 ? 'info' : 'warn'](`${this.run.name}: ${maskSecrets(status)}`);
    this.renamed.fire(`${this.run.name} (${code === null ? 'stopped' : `exit code ${code}`})`);
    this.resolveExit(code);
  }

  private write(text: string): void {
    this.transcript = (this.transcript + text).slice(-TRANSCRIPT_MAX);
    this.written.fire(text);
  }
}

/** Line ends as a terminal wants them: a bare \n moves down without going back to the start of the line. */
function toTerminal(text: string): string {
  return text.replace(/\r?\n/g, '\r\n');
}
