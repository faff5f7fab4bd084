// Where VS Code finds the transfer tools it starts (the SAS panel's terminal, exit runs): the machine setting
// (exitPlan.azcopyPath, exitPlan.rclonePath), else as the CLI finds them (EXIT_PLAN_AZCOPY / EXIT_PLAN_RCLONE, PATH).
import * as vscode from 'vscode';
import { exit, ExitPlanError, expandHome, isExecutable, rclone } from '../exporters';

export const TOOL_SETTINGS = { azcopy: 'exitPlan.azcopyPath', rclone: 'exitPlan.rclonePath' } as const;
export type Tool = keyof typeof TOOL_SETTINGS;

/** The tool's full path, or undefined when it is not found; a setting that names no executable file is an error. */
export function toolPath(tool: Tool): string | undefined {
  const setting = vscode.workspace.getConfiguration().get<string>(TOOL_SETTINGS[tool])?.trim();
  if (setting) {
    const file = expandHome(setting);
    if (!isExecutable(file))
      throw new ExitPlanError(`${TOOL_SETTINGS[tool]} names ${file}, which is not an executable file: fix the setting or clear it.`);
    return file;
  }
  return tool === 'azcopy' ? exit.findAzcopy() : rclone.findRclone();
}
