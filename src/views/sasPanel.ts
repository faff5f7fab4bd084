import * as os from 'node:os';
import * as vscode from 'vscode';
import { webviewPage } from './webviewPage';
import { isSasMessage, type CopyTarget, type DestinationKey, type RunTarget, type SasToWebview } from './webviewMessages';
import { TransferTerminal } from './transferTerminal';
import { toolPath } from '../services/tools';
import { ExitPlanError, azure, errorMessage, findOnPath, maskSecrets } from '../exporters';

/** The setting that names azcopy (also used by exit runs). */
/** The expiries the panel offers, in minutes; the link's own is added when it is not one of them. */
const EXPIRY_CHOICES = [15, 60, 120, 480, 1440, 10080];

// The page never receives the SAS URL or a full command line, only masked text (see webviewMessages.ts).

export interface SasPanelOptions {
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
  link: azure.SasLink;
  isEmulator: boolean;
  /** From Compute Size, when it ran on the same container or folder. */
  size?: azure.SizeProgress;
  /** What the link was made for (the expiry control starts there). */
  expiryMinutes: number;
  /** Signs a new link to the same place, valid for `minutes` (the panel's expiry control). */
  regenerate?: (minutes: number) => Promise<azure.SasLink>;
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
  private expiryTimer: NodeJS.Timeout | undefined;
  /** What the current link was made for, in minutes. */
  private expiryMinutes: number;
  private notice: string | undefined;
  private readonly regenerate: SasPanelOptions['regenerate'];
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
    this.regenerate = options.regenerate;
    this.expiryMinutes = options.expiryMinutes;
    this.destinations = { local: azure.defaultLocalDestination(options.link.container), azure: '', s3: '', gcs: '' };
    panel.iconPath = vscode.Uri.joinPath(options.extensionUri, 'media', 'icons', 'exit-plan.svg');
    panel.webview.html = sasHtml(panel.webview, options);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((message: unknown) => this.receive(message)),
      panel.onDidDispose(() => this.dispose()),
    );
    this.armExpiry(options.link);
  }

  private armExpiry(link: azure.SasLink): void {
    clearTimeout(this.expiryTimer);
    // setTimeout holds at most 2^31-1 ms (24.8 days); a link lasts at most 7 days.
    this.expiryTimer = setTimeout(() => this.expire(), Math.max(0, link.expiresOn.getTime() - Date.now()));
  }

  private disposed = false;

  private dispose(): void {
    this.disposed = true;
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
        this.setDestination(message.key, message.value);
        break;
      case 'copy':
        void this.copy(message.what);
        return;
      case 'run':
        void this.run(message.what).catch((err: unknown) => void vscode.window.showErrorMessage(maskSecrets(errorMessage(err))));
        return;
      case 'setExpiry':
        void this.setExpiry(message.minutes);
        return;
    }
    if (this.link) void this.post(this.render(this.link));
    else void this.post({ type: 'expired' });
  }

  /** A destination typed on a card (the page sends each edit). */
  setDestination(key: DestinationKey, value: string): void {
    this.destinations[key] = value;
  }

  private plan(link: azure.SasLink): azure.TransferPlan {
    return azure.transferCommands(link, { shell: this.shell, isEmulator: this.isEmulator, destinations: this.destinations });
  }

  private render(link: azure.SasLink): Extract<SasToWebview, { type: 'render' }> {
    const plan = this.plan(link);
    const azcopy = this.program('azcopy') !== undefined;
    const rclone = this.program('rclone') !== undefined;
    const given = (key: DestinationKey) => this.destinations[key].trim() !== '';
    return {
      type: 'render',
      shell: this.shell,
      destinations: { ...this.destinations },
      url: maskSecrets(link.url),
      expiresOn: link.expiresOn.toISOString(),
      expiresText: link.expiresOn.toLocaleString(),
      expiryMinutes: this.expiryMinutes,
      notice: this.notice,
      copyable: {
        local: true,
        azure: given('azure'),
        s3: given('s3'),
        gcs: given('gcs'),
        s3TwoStep: given('s3'),
        gcsTwoStep: given('gcs'),
      },
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

  /** The expiry control changed: signs a new link to the same place and shows it (the old one stays valid until it expires). */
  async setExpiry(minutes: number): Promise<void> {
    if (!this.regenerate) return;
    const previous = this.link;
    void this.post({ type: 'signing' });
    try {
      const link = await this.regenerate(minutes);
      if (this.disposed) return;
      this.link = link;
      this.expiryMinutes = minutes;
      this.armExpiry(link);
      this.notice = previous
        ? `New link made; the previous one stays valid until ${previous.expiresOn.toLocaleString()}.`
        : 'New link made.';
      this.log.info(`Signed a new link to ${this.where}, expiring ${link.expiresOn.toISOString()}`);
    } catch (err) {
      this.notice = `No new link: ${maskSecrets(errorMessage(err))}`;
      this.log.warn(`Cannot sign a new link to ${this.where}: ${this.notice}`);
    }
    if (this.disposed) return;
    if (this.link) void this.post(this.render(this.link));
    else void this.post({ type: 'expired' });
  }

  /** Copies the real text, only on the user's click (the webview's Copy buttons). */
  async copy(what: CopyTarget): Promise<void> {
    const link = this.link;
    if (!link) {
      this.expiredNotice();
      return;
    }
    if (what !== 'url' && !this.render(link).copyable[what]) return;
    const plan = this.plan(link);
    const text = what === 'url' ? link.url : what === 's3TwoStep' || what === 'gcsTwoStep' ? plan[what] : plan[what].line;
    await vscode.env.clipboard.writeText(text);
    this.log.info(`Copied the ${what === 'url' ? 'SAS URL' : `${what} command`} for ${this.where} to the clipboard`);
    void this.post({ type: 'copied', what });
    vscode.window.setStatusBarMessage(`Copied — anyone with this link can read the data until ${link.expiresOn.toLocaleString()}`, 5000);
  }

  /**
   * Runs the command in a terminal that starts the program itself (no shell, so no quoting and no shell
   * history), shows its output masked and stays open with its exit code. Returns the terminal's process.
   */
  async run(what: RunTarget): Promise<TransferTerminal | undefined> {
    const link = this.link;
    if (!link) {
      this.expiredNotice();
      return undefined;
    }
    if (!this.render(link).runnable[what]) return undefined;
    const { argv, line } = this.plan(link)[what];
    const program = this.program(argv[0]!);
    if (!program) throw new ExitPlanError(`${argv[0]} is not on PATH: install it, or copy the command instead.`);
    const to = { local: 'local disk', azure: 'another Azure account', s3: 'AWS S3', gcs: 'Google Cloud Storage' }[what];
    const { pty } = TransferTerminal.start({
      name: `${argv[0]}: ${this.where} to ${to}`,
      tool: argv[0]!,
      program,
      args: argv.slice(1),
      line,
      cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? os.homedir(),
      log: this.log,
    });
    return pty;
  }

  private expiredNotice(): void {
    void vscode.window.showWarningMessage(`The link to ${this.where} has expired: generate a new one.`);
  }

  /** The program's full path: from its setting (exitPlan.azcopyPath, exitPlan.rclonePath), else as the CLI finds it. */
  private program(name: string): string | undefined {
    if (!this.programs.has(name)) this.programs.set(name, name === 'azcopy' || name === 'rclone' ? toolPath(name) : findOnPath(name));
    return this.programs.get(name);
  }

  private post(message: SasToWebview): Thenable<boolean> {
    return this.panel.webview.postMessage(message);
  }
}

/** The page: facts and masked text only, never the real URL. Commands arrive masked in `render` messages. */
function sasHtml(webview: vscode.Webview, { link, size, extensionUri, expiryMinutes, regenerate }: SasPanelOptions): string {
  const media = (file: string) => vscode.Uri.joinPath(extensionUri, 'media', file);
  const sizeCell = size
    ? esc(azure.describeSize(size))
    : 'not computed yet: run <em>Compute Container or Folder Size</em> on it in the Azure Storage view';
  const copyButton = (what: CopyTarget, label = 'Copy', primary = false) =>
    `<button type="button" ${primary ? '' : 'class="secondary" '}data-copy="${what}">${label}</button>`;
  const runButton = (what: RunTarget) => `<button type="button" class="secondary" data-run="${what}" hidden>Run in Terminal</button>`;
  const actions = (buttons: string, hint?: string) =>
    `<div class="actions">${buttons}<span class="copied" role="status" aria-live="polite"></span>` +
    `${hint ? `<span class="hint" hidden>${esc(hint)}</span>` : ''}</div>`;
  const command = (what: Exclude<CopyTarget, 'url'>) => `<pre class="line"><code id="line-${what}"></code></pre>`;
  const destination = (key: DestinationKey, label: string, placeholder: string) =>
    `<label class="destination">${label}` +
    `<input type="text" data-destination="${key}" placeholder="${esc(placeholder)}" spellcheck="false"></label>`;
  const choices = [...new Set([...EXPIRY_CHOICES, expiryMinutes])].sort((a, b) => a - b);
  const expiryControl = regenerate
    ? `<label class="validity">Valid for <select id="expiry-minutes">${choices
        .map((m) => `<option value="${m}"${m === expiryMinutes ? ' selected' : ''}>${esc(describeMinutes(m))}</option>`)
        .join('')}</select></label>`
    : '';

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
<span id="countdown" class="countdown"></span>${expiryControl}<p id="notice" class="notice" role="status" hidden></p></dd>
</dl>
<p class="warning">Anyone holding this link can read the data until it expires.</p>

<section class="card">
  <h2>SAS URL</h2>
  <pre class="line"><code id="url">${esc(maskSecrets(link.url))}</code></pre>
  ${actions(copyButton('url', 'Copy SAS URL', true))}
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
  ${actions(copyButton('local') + runButton('local'))}
</section>

<section class="card">
  <h2>Another Azure account</h2>
  ${destination('azure', 'Destination URL with its own SAS (write permission)', azure.PLACEHOLDERS.azure)}
  ${command('azure')}
  ${actions(copyButton('azure') + runButton('azure'), 'Enter the destination URL above to copy or run this command.')}
</section>

<p class="note">azcopy cannot copy from Blob Storage to S3 or Google Cloud Storage, so the next two use rclone.</p>

<section class="card">
  <h2>AWS S3</h2>
  ${destination('s3', 'Bucket and path', azure.PLACEHOLDERS.s3)}
  ${command('s3')}
  ${actions(copyButton('s3') + runButton('s3'), 'Enter the bucket and path above to copy or run this command.')}
  <h3>Or in two steps: azcopy to local disk, then the AWS CLI</h3>
  ${command('s3TwoStep')}
  ${actions(copyButton('s3TwoStep'), 'Enter the bucket and path above to copy this command.')}
</section>

<section class="card">
  <h2>Google Cloud Storage</h2>
  ${destination('gcs', 'Bucket and path', azure.PLACEHOLDERS.gcs)}
  ${command('gcs')}
  ${actions(copyButton('gcs') + runButton('gcs'), 'Enter the bucket and path above to copy or run this command.')}
  <h3>Or in two steps: azcopy to local disk, then the gcloud CLI</h3>
  ${command('gcsTwoStep')}
  ${actions(copyButton('gcsTwoStep'), 'Enter the bucket and path above to copy this command.')}
</section>

<p class="note">The link and commands are shown masked; Copy puts the real text on the clipboard.
Run in Terminal starts the program directly, without a shell, so the link does not land in a shell history;
the terminal stays open with the program's exit code.</p>`,
  });
}

/** `15 minutes`, `2 hours`, `1 day`, `7 days`. */
function describeMinutes(minutes: number): string {
  const unit = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;
  if (minutes % 1440 === 0) return unit(minutes / 1440, 'day');
  if (minutes % 60 === 0) return unit(minutes / 60, 'hour');
  return unit(minutes, 'minute');
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
