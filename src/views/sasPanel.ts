import * as vscode from 'vscode';
import { webviewPage } from './webviewPage';
import { isSasMessage, type CopyTarget, type DestinationKey, type RunTarget, type SasToWebview } from './webviewMessages';
import { azure, findOnPath, maskSecrets } from '../exporters';

// The page never receives the SAS URL or a full command line, only masked text (see webviewMessages.ts).

export interface SasPanelOptions {
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
  link: azure.SasLink;
  isEmulator: boolean;
  /** From Compute Size, when it ran on the same container or folder. */
  size?: azure.SizeProgress;
}

/**
 * One generated link: its facts, a live countdown, the URL masked, and transfer commands per destination.
 * Holds the real URL only until it expires or the panel closes.
 */
export class SasPanel {
  /** The only copy of the real link; dropped when it expires or the panel closes. */
  private link: azure.SasLink | undefined;
  /** `container/folder/`, for messages and the log. */
  private readonly where: string;
  private readonly log: vscode.LogOutputChannel;
  private readonly isEmulator: boolean;
  private shell: azure.Shell = process.platform === 'win32' ? 'powershell' : 'posix';
  private readonly destinations: Record<DestinationKey, string>;
  /** Full paths of the programs found on PATH, looked up once per panel. */
  private readonly programs = new Map<string, string | undefined>();
  private readonly expiryTimer: NodeJS.Timeout;
  private readonly disposables: vscode.Disposable[] = [];
  /** The panel opened last while it is open (the integration suite copies from it). */
  static latest: SasPanel | undefined;

  static open(options: SasPanelOptions): void {
    const { link } = options;
    const panel = vscode.window.createWebviewPanel(
      'exitPlan.sas',
      `SAS: ${link.container}/${link.folder ?? ''}`,
      vscode.ViewColumn.Active,
      { enableScripts: true, enableCommandUris: false, localResourceRoots: [vscode.Uri.joinPath(options.extensionUri, 'media')] },
    );
    SasPanel.latest = new SasPanel(panel, options);
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    options: SasPanelOptions,
  ) {
    this.link = options.link;
    this.where = `${options.link.container}/${options.link.folder ?? ''}`;
    this.log = options.log;
    this.isEmulator = options.isEmulator;
    this.destinations = { local: azure.defaultLocalDestination(options.link.container), azure: '', s3: '', gcs: '' };
    panel.iconPath = vscode.Uri.joinPath(options.extensionUri, 'media', 'icons', 'exit-plan.svg');
    panel.webview.html = sasHtml(panel.webview, options);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((message: unknown) => this.receive(message)),
      panel.onDidDispose(() => this.dispose()),
    );
    this.expiryTimer = setTimeout(() => this.expire(), Math.max(0, options.link.expiresOn.getTime() - Date.now()));
  }

  private dispose(): void {
    if (SasPanel.latest === this) SasPanel.latest = undefined;
    clearTimeout(this.expiryTimer);
    this.link = undefined;
    for (const d of this.disposables) d.dispose();
    this.disposables.length = 0;
  }

  /** The link's time is up: forget the URL, and tell the webview (it also counts down by itself). */
  private expire(): void {
    if (!this.link) return;
    this.log.info(`The SAS for ${this.where} expired; its URL is forgotten.`);
    this.link = undefined;
    void this.post({ type: 'expired' });
  }

  private receive(message: unknown): void {
    if (!isSasMessage(message)) return;
    switch (message.type) {
      case 'ready':
        break;
      case 'setShell':
        this.shell = message.shell;
        break;
      case 'setDestination':
        this.destinations[message.key] = message.value;
        break;
      case 'copy':
        void this.copy(message.what);
        return;
      case 'run':
        this.run(message.what);
        return;
    }
    if (this.link) void this.post(this.render(this.link));
    else void this.post({ type: 'expired' });
  }

  private plan(link: azure.SasLink): azure.TransferPlan {
    return azure.transferCommands(link, { shell: this.shell, isEmulator: this.isEmulator, destinations: this.destinations });
  }

  private render(link: azure.SasLink): SasToWebview {
    const plan = this.plan(link);
    const azcopy = this.program('azcopy') !== undefined;
    const rclone = this.program('rclone') !== undefined;
    const given = (key: DestinationKey) => this.destinations[key].trim() !== '';
    return {
      type: 'render',
      shell: this.shell,
      destinations: { ...this.destinations },
      lines: {
        local: maskSecrets(plan.local.line),
        azure: maskSecrets(plan.azure.line),
        s3: maskSecrets(plan.s3.line),
        gcs: maskSecrets(plan.gcs.line),
        s3TwoStep: maskSecrets(plan.s3TwoStep),
        gcsTwoStep: maskSecrets(plan.gcsTwoStep),
      },
      runnable: { local: azcopy, azure: azcopy && given('azure'), s3: rclone && given('s3'), gcs: rclone && given('gcs') },
    };
  }

  /** Copies the real text, only on the user's click (the webview's Copy buttons). */
  async copy(what: CopyTarget): Promise<void> {
    const link = this.link;
    if (!link) {
      this.expiredNotice();
      return;
    }
    const plan = this.plan(link);
    const text = what === 'url' ? link.url : what === 's3TwoStep' || what === 'gcsTwoStep' ? plan[what] : plan[what].line;
    await vscode.env.clipboard.writeText(text);
    this.log.info(`Copied the ${what === 'url' ? 'SAS URL' : `${what} command`} for ${this.where} to the clipboard`);
    vscode.window.setStatusBarMessage(`Copied — anyone with this link can read the data until ${link.expiresOn.toLocaleString()}`, 5000);
  }

  /** Starts the program itself as the terminal's process: no shell, so no quoting and no shell history. */
  private run(what: RunTarget): void {
    const link = this.link;
    if (!link) {
      this.expiredNotice();
      return;
    }
    const { argv, line } = this.plan(link)[what];
    const program = this.program(argv[0]!);
    if (!program) {
      void vscode.window.showErrorMessage(`${argv[0]} is not on PATH: install it, or copy the command instead.`);
      return;
    }
    this.log.info(`Running in a terminal: ${maskSecrets(line)}`);
    const terminal = vscode.window.createTerminal({
      name: `Exit Plan: ${argv[0]} (${what})`,
      shellPath: program,
      shellArgs: argv.slice(1),
    });
    terminal.show();
  }

  private expiredNotice(): void {
    void vscode.window.showWarningMessage(`The link to ${this.where} has expired: generate a new one.`);
  }

  private program(name: string): string | undefined {
    if (!this.programs.has(name)) this.programs.set(name, findOnPath(name));
    return this.programs.get(name);
  }

  private post(message: SasToWebview): Thenable<boolean> {
    return this.panel.webview.postMessage(message);
  }
}

/** The page: facts and masked text only, never the real URL. Commands arrive masked in `render` messages. */
function sasHtml(webview: vscode.Webview, { link, size, extensionUri }: SasPanelOptions): string {
  const media = (file: string) => vscode.Uri.joinPath(extensionUri, 'media', file);
  const sizeCell = size ? esc(azure.describeSize(size)) : 'not computed yet: run <em>Compute Size</em> on the container or folder';
  const copyButton = (what: CopyTarget, label = 'Copy') => `<button type="button" data-copy="${what}">${label}</button>`;
  const runButton = (what: RunTarget) => `<button type="button" class="secondary" data-run="${what}" hidden>Run in Terminal</button>`;
  const command = (what: Exclude<CopyTarget, 'url'>) => `<pre class="line"><code id="line-${what}"></code></pre>`;
  const destination = (key: DestinationKey, label: string, placeholder: string) =>
    `<label class="destination">${label}` +
    `<input type="text" data-destination="${key}" placeholder="${esc(placeholder)}" spellcheck="false"></label>`;
  const rcloneNote = '<p class="note">azcopy cannot copy from Blob Storage to S3 or GCS, so this uses rclone.</p>';

  return webviewPage(webview, {
    title: `SAS: ${esc(link.container)}`,
    stylesheet: media('sas.css'),
    script: media('sas.js'),
    body: `<h1>Read-only link to ${esc(link.container)}/${esc(link.folder ?? '')}</h1>
<dl class="facts">
  <dt>Account</dt><dd>${esc(link.account)}</dd>
  <dt>Container</dt><dd>${esc(link.container)}</dd>
  <dt>Folder</dt><dd>${link.folder ? esc(link.folder) : 'the whole container'}</dd>
  <dt>Size</dt><dd>${sizeCell}</dd>
  <dt>Permissions</dt><dd>read and list, signed with the ${esc(link.signedWith)}</dd>
  <dt>Expires</dt>
  <dd><time id="expiry" datetime="${link.expiresOn.toISOString()}">${esc(link.expiresOn.toLocaleString())}</time> \
<span id="countdown" class="countdown"></span></dd>
</dl>
<p class="warning">Anyone holding this link can read the data until it expires.</p>

<section class="card">
  <h2>SAS URL</h2>
  <pre class="line"><code>${esc(maskSecrets(link.url))}</code></pre>
  <div class="actions">${copyButton('url', 'Copy SAS URL')}</div>
</section>

<fieldset class="shell">
  <legend>Commands for</legend>
  <label><input type="radio" name="shell" value="posix"> POSIX shell (bash, zsh)</label>
  <label><input type="radio" name="shell" value="powershell"> PowerShell</label>
</fieldset>

<section class="card">
  <h2>Local disk</h2>
  ${destination('local', 'Destination folder', azure.defaultLocalDestination(link.container))}
  ${command('local')}
  <div class="actions">${copyButton('local')}${runButton('local')}</div>
</section>

<section class="card">
  <h2>Another Azure account</h2>
  ${destination('azure', 'Destination URL with its own SAS (write permission)', azure.PLACEHOLDERS.azure)}
  ${command('azure')}
  <div class="actions">${copyButton('azure')}${runButton('azure')}</div>
</section>

<section class="card">
  <h2>AWS S3</h2>
  ${rcloneNote}
  ${destination('s3', 'Bucket and path', azure.PLACEHOLDERS.s3)}
  ${command('s3')}
  <div class="actions">${copyButton('s3')}${runButton('s3')}</div>
  <h3>Or in two steps: azcopy to local disk, then the AWS CLI</h3>
  ${command('s3TwoStep')}
  <div class="actions">${copyButton('s3TwoStep')}</div>
</section>

<section class="card">
  <h2>Google Cloud Storage</h2>
  ${rcloneNote}
  ${destination('gcs', 'Bucket and path', azure.PLACEHOLDERS.gcs)}
  ${command('gcs')}
  <div class="actions">${copyButton('gcs')}${runButton('gcs')}</div>
  <h3>Or in two steps: azcopy to local disk, then the gcloud CLI</h3>
  ${command('gcsTwoStep')}
  <div class="actions">${copyButton('gcsTwoStep')}</div>
</section>

<p class="note">The link and commands are shown masked; Copy puts the real text on the clipboard.
Run in Terminal starts the program directly, without a shell, so the link does not land in a shell history.</p>`,
  });
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
