import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

/**
 * The page every Exit Plan webview uses: CSP `default-src 'none'`, styles only from the extension, the one
 * script allowed by a fresh random nonce. `title` and `body` must already be escaped.
 */
export function webviewPage(
  webview: vscode.Webview,
  page: { title: string; stylesheet: vscode.Uri; script: vscode.Uri; body: string; dataImages?: boolean },
): string {
  const nonce = randomBytes(16).toString('base64');
  const img = page.dataImages ? ` img-src ${webview.cspSource} data:;` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource};${img} script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${webview.asWebviewUri(page.stylesheet).toString()}">
<title>${page.title}</title>
</head>
<body>
${page.body}
<script nonce="${nonce}" src="${webview.asWebviewUri(page.script).toString()}"></script>
</body>
</html>`;
}

/**
 * A report panel (the datasets and exit reports): scripts on, command URIs off, only dist/webview/ readable, the
 * Exit Plan icon, and the page of `bundle` (`dist/webview/<bundle>.js` and `.css`, made by scripts/build.mjs).
 */
export function createReportPanel(
  extensionUri: vscode.Uri,
  panel: { viewType: string; title: string; pageTitle: string; bundle: string; body: string; dataImages?: boolean },
): vscode.WebviewPanel {
  const dist = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
  const created = vscode.window.createWebviewPanel(panel.viewType, panel.title, vscode.ViewColumn.Active, {
    enableScripts: true,
    enableCommandUris: false,
    localResourceRoots: [dist],
  });
  created.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icons', 'exit-plan.svg');
  created.webview.html = webviewPage(created.webview, {
    title: panel.pageTitle,
    stylesheet: vscode.Uri.joinPath(dist, `${panel.bundle}.css`),
    script: vscode.Uri.joinPath(dist, `${panel.bundle}.js`),
    body: panel.body,
    dataImages: panel.dataImages,
  });
  return created;
}
