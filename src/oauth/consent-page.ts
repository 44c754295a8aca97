/** @module The consent page: server-rendered, every value escaped, backend checkboxes, password field. Pure. */
import type { Registration } from '../store/clients.ts';
import { escapeHtml, pageShell } from './html.ts';

/** Everything the page shows; strings are raw data and get escaped here. */
export interface ConsentView {
  clientName: string;
  registration: Registration;
  clientId: string;
  redirectHost: string;
  redirectIsLoopback: boolean;
  scope: string;
  backends: string[];
  /** Backend name -> its `description` from the config (absent ones show the name only). */
  descriptions?: Readonly<Record<string, string>>;
  checked: ReadonlySet<string>;
  error?: string;
  /** Hidden fields binding the POST to the server-side request record. */
  hidden: Record<string, string>;
  passwordConfigured: boolean;
}

function clientFacts(v: ConsentView): string {
  const name = `<strong>${escapeHtml(v.clientName)}</strong>`;
  const facts: string[] = [];
  if (v.registration === 'cimd') {
    facts.push(`<p>Client identity published at <code>${escapeHtml(new URL(v.clientId).host)}</code>; the name comes from that document.</p>`);
  } else if (v.registration === 'dcr') {
    facts.push('<p class="warn">This name is self-asserted: any program can register under any name. Check where it sends you back.</p>');
  } else {
    facts.push('<p class="muted">A client pre-registered in your gateway configuration.</p>');
  }
  facts.push(`<p>After approval you are sent back to <code>${escapeHtml(v.redirectHost)}</code>.</p>`);
  if (v.redirectIsLoopback) {
    facts.push('<p class="warn">That is a program on the device that opened this page (localhost). Approve only if you just started it.</p>');
  }
  return `<h1>${name} wants to use your MCP gateway</h1>${facts.join('')}`;
}

function backendFieldset(v: ConsentView): string {
  if (v.backends.length === 0) return '<p class="muted">No backends are configured yet; this grant will cover backends you add later.</p>';
  const boxes = v.backends
    .map((b) => {
      const description = v.descriptions?.[b];
      const about = description ? `<span class="about">${escapeHtml(description)}</span>` : '';
      return `<label class="backend"><input type="checkbox" name="backend" value="${escapeHtml(b)}"${v.checked.has(b) ? ' checked' : ''}> <span><strong>${escapeHtml(b)}</strong>${about}</span></label>`;
    })
    .join('');
  return `<fieldset><legend>Backends this connection may use</legend>${boxes}<p class="muted">Leaving every box ticked also grants backends you add later.</p></fieldset>`;
}

/** What approving lets the client do, in plain words (issue 9 item 9). */
function capabilities(v: ConsentView): string {
  const name = `<strong>${escapeHtml(v.clientName)}</strong>`;
  return `<p>If you allow it, ${name} can, as you and without asking again: list and call the tools, read the resources and use the prompts of the backends ticked below. It cannot change the gateway's settings or see other backends. It keeps this access until you revoke it with <code>mcpgw tokens revoke</code>, or until it goes unused for longer than its sign-in lasts.</p>`;
}

/** Renders the consent page HTML. */
export function renderConsentPage(v: ConsentView, nonce: string): string {
  const error = v.error ? `<p class="error" role="alert">${escapeHtml(v.error)}</p>` : '';
  if (!v.passwordConfigured) {
    const body = `${clientFacts(v)}<p class="error">No owner password is set, so nothing can be approved. The gateway owner must run <code>mcpgw passwd</code> and try again.</p>`;
    return pageShell('Authorization unavailable', body, nonce);
  }
  const hidden = Object.entries(v.hidden)
    .map(([k, val]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(val)}">`)
    .join('');
  // Allow comes first: pressing Enter in the password field submits the first button.
  const body = `${clientFacts(v)}${capabilities(v)}<p class="muted">Access: <code>${escapeHtml(v.scope)}</code></p>${error}
<form method="post" action="/authorize">${hidden}${backendFieldset(v)}
<label for="password">Gateway owner password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required autofocus>
<div class="buttons"><button type="submit" name="action" value="allow" class="primary">Allow</button><button type="submit" name="action" value="deny" formnovalidate>Deny</button></div>
</form>`;
  return pageShell(`Authorize ${v.clientName}`, body, nonce);
}
