/** @module `GET /`: a small page saying what this server is and where its MCP endpoint is (issue 9 item 9). No backend names. */
import { escapeHtml, htmlResponse, pageShell } from '../oauth/html.ts';

/** The page's HTML: what mcpgw is and the endpoint URL to give an MCP client; nothing about the backends. */
export function renderRootPage(publicUrl: string, nonce: string): string {
  const endpoint = `${publicUrl}/mcp`;
  const body = `<h1>mcpgw</h1>
<p>This is an <strong>MCP gateway</strong>: it puts several Model Context Protocol servers behind one endpoint that AI apps (claude.ai, ChatGPT, Claude Code, Cursor, …) connect to.</p>
<p>MCP endpoint:<br><code>${escapeHtml(endpoint)}</code></p>
<p class="muted">Add that URL as a custom connector (remote MCP server) in your app. It will send you here to sign in and to choose what the app may use. There is nothing else on this page.</p>`;
  return pageShell('mcpgw: MCP gateway', body, nonce);
}

/** The `GET /` response: HTML with the same security headers as every other page (no script, nonce'd style, no framing). */
export function rootPage(publicUrl: string, nonce: string): Response {
  return htmlResponse(renderRootPage(publicUrl, nonce), { status: 200, nonce });
}
