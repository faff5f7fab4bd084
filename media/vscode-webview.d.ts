// What VS Code gives a webview's script: one call, once, for messages to the extension and saved state.
interface VsCodeWebviewApi<State = unknown> {
  postMessage(message: unknown): void;
  getState(): State | undefined;
  setState(state: State): void;
}

declare function acquireVsCodeApi<State = unknown>(): VsCodeWebviewApi<State>;
