/** @module A headless OAuthClientProvider for the SDK's own client-side OAuth (`auth()` from @modelcontextprotocol/client). */
import type {
  OAuthClientMetadata,
  OAuthClientProvider,
  OAuthDiscoveryState,
  StoredOAuthClientInformation,
  StoredOAuthTokens,
} from '@modelcontextprotocol/client';
import { LOOPBACK_REDIRECT, openConsent, submitConsent } from './oauth-client.ts';
import type { OAuthWorld } from './oauth-world.ts';

/**
 * Plays the browser: `redirectToAuthorization` fetches the consent page, posts the password (and the
 * chosen backends), and keeps the callback parameters from the `Location` header.
 */
export class HeadlessProvider implements OAuthClientProvider {
  clientMetadataUrl?: string;
  /** Query parameters of the last redirect back to the client (code, state, iss). */
  callback?: URLSearchParams;
  private info?: StoredOAuthClientInformation;
  private saved?: StoredOAuthTokens;
  private verifier = '';
  private discovery?: OAuthDiscoveryState;

  constructor(
    private readonly world: OAuthWorld,
    private readonly opts: { clientMetadataUrl?: string; backends?: string[] } = {},
  ) {
    this.clientMetadataUrl = opts.clientMetadataUrl;
  }

  get redirectUrl(): string {
    return LOOPBACK_REDIRECT;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'SDK headless client',
      redirect_uris: [LOOPBACK_REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state(): string {
    return 'sdk-state-1';
  }

  clientInformation(): StoredOAuthClientInformation | undefined {
    return this.info;
  }

  saveClientInformation(info: StoredOAuthClientInformation): void {
    this.info = info;
  }

  tokens(): StoredOAuthTokens | undefined {
    return this.saved;
  }

  saveTokens(tokens: StoredOAuthTokens): void {
    this.saved = tokens;
  }

  saveCodeVerifier(v: string): void {
    this.verifier = v;
  }

  codeVerifier(): string {
    return this.verifier;
  }

  saveDiscoveryState(s: OAuthDiscoveryState): void {
    this.discovery = s;
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.discovery;
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'all' || scope === 'tokens') this.saved = undefined;
    if (scope === 'all' || scope === 'client') this.info = undefined;
    if (scope === 'all' || scope === 'discovery') this.discovery = undefined;
  }

  async redirectToAuthorization(url: URL): Promise<void> {
    const { res, html, form } = await openConsent(url.href);
    if (res.status !== 200) throw new Error(`consent page ${res.status}: ${html}`);
    const post = await submitConsent(this.world, form, { backends: this.opts.backends });
    const location = post.headers.get('location');
    if (post.status !== 302 || !location) throw new Error(`consent post ${post.status}: ${await post.text()}`);
    this.callback = new URL(location).searchParams;
  }
}
