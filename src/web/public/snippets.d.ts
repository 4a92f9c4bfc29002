// Types of snippets.js (browser module), for the tests.
export interface SnippetOptions {
  origin: string;
  endpointId: string;
  input: Record<string, unknown>;
  key?: string;
  routes: { queue: string; falProxy: string };
}
export function jsSnippet(o: SnippetOptions): string;
export function curlSnippet(o: SnippetOptions): string;
export function pretty(value: unknown): string;
export function shellQuote(s: string): string;
