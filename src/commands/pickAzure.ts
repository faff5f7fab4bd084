import * as vscode from 'vscode';
import { azure } from '../exporters';
import { describeAzureProfile, type AzureProfile } from '../services/azureConnections';
import { isAzureNode, type AzureNode } from '../views/azureTree';
import type { CommandContext } from './context';
import { executeCommand, isRef } from './invoke';

/** The quick pick lists at most this many pages of containers, then offers to type a name. */
const MAX_CONTAINER_PAGES = 20;

/** The Azure connection of the node a command was run on, or one the user picks; undefined if they back out. */
export async function azureConnectionFromArg(ctx: CommandContext, arg: unknown, placeHolder: string): Promise<AzureProfile | undefined> {
  const node = (['connection', 'container', 'folder', 'blob', 'error'] as const).some((kind) => isAzureNode(arg, kind))
    ? (arg as AzureNode)
    : undefined;
  if (node) return ctx.azureConnections.get(node.profile.name) ?? node.profile;
  if (isRef(arg, 'connection')) {
    const named = ctx.azureConnections.get(arg.connection);
    if (named) return named;
  }
  const profiles = ctx.azureConnections.list();
  if (profiles.length === 0) {
    const add = 'Add Azure Storage Connection';
    void vscode.window.showInformationMessage('There is no Azure Storage connection yet.', add).then((choice) => {
      if (choice === add) void executeCommand('exitPlan.addAzureConnection');
    });
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    profiles.map((profile) => ({ label: profile.name, description: describeAzureProfile(profile), profile })),
    { placeHolder },
  );
  return picked?.profile;
}

type ContainerPick = vscode.QuickPickItem & { container?: string };

/** A container of the account, picked from a list (typed in when there are very many); undefined if the user backs out. */
export async function pickContainer(account: azure.StorageAccount, placeHolder: string): Promise<string | undefined> {
  const picked = await vscode.window.showQuickPick(containerItems(account), { placeHolder, matchOnDescription: true });
  if (!picked) return undefined;
  if (picked.container !== undefined) return picked.container;
  const typed = await vscode.window.showInputBox({
    prompt: `Container name in ${account.accountName}`,
    validateInput: (v) => (v.trim() === '' ? 'Enter a container name.' : undefined),
  });
  return typed?.trim();
}

async function containerItems(account: azure.StorageAccount): Promise<ContainerPick[]> {
  const items: ContainerPick[] = [];
  let continuation: string | undefined;
  for (let page = 0; page < MAX_CONTAINER_PAGES; page++) {
    const listed = await azure.listContainers(account, continuation);
    items.push(...listed.items.map((c) => ({ label: c.name, container: c.name })));
    continuation = listed.continuation;
    if (!continuation) break;
  }
  if (continuation || items.length === 0) {
    const description = items.length === 0 ? 'no container listed' : `only the first ${items.length} are listed`;
    items.push({ label: 'Enter a container name…', description });
  }
  return items;
}
