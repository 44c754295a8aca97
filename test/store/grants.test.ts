/** @module store: grants listing and revocation, personal access tokens (what `mcpgw tokens` needs). */
import { describe, expect, test } from 'bun:test';
import { secureRandom } from '../../src/deps.ts';
import { openStore } from '../../src/store/db.ts';
import { insertGrant, listGrants, revokeAll, revokeClient, revokeGrant, type GrantRecord } from '../../src/store/grants.ts';
import { createPersonalToken, findPersonalToken, PERSONAL_TOKEN_PREFIX } from '../../src/store/personal-tokens.ts';
import { sha256Hex } from '../../src/store/secrets.ts';

const RESOURCE = 'https://gw.example.com/mcp';

function grant(id: string, clientId: string, over: Partial<GrantRecord> = {}): GrantRecord {
  return {
    id,
    kind: 'oauth',
    registration: 'dcr',
    clientId,
    clientName: 'Claude',
    subject: 'owner',
    scope: 'mcp',
    resource: RESOURCE,
    backends: ['github'],
    createdAt: 1000,
    expiresAt: 10_000,
    ...over,
  };
}

describe('grants', () => {
  test('listGrants shows client, registration, backends, created/last used/expiry; filters inactive unless asked', () => {
    const db = openStore(':memory:');
    insertGrant(db, grant('g1', 'c1'));
    insertGrant(db, grant('g2', 'c2', { registration: 'cimd', backends: null, createdAt: 2000 }));
    insertGrant(db, grant('g3', 'c3', { expiresAt: 1500 }));
    const active = listGrants(db, { now: 3000 });
    expect(active.map((g) => g.id)).toEqual(['g2', 'g1']);
    expect(active[0]).toMatchObject({ clientId: 'c2', registration: 'cimd', backends: null, status: 'active' });
    expect(active[1]).toMatchObject({ clientName: 'Claude', backends: ['github'], createdAt: 1000, expiresAt: 10_000 });
    expect(listGrants(db, { now: 3000, includeInactive: true }).find((g) => g.id === 'g3')?.status).toBe('expired');
  });

  test('revokeGrant / revokeClient / revokeAll mark grants revoked and report counts', () => {
    const db = openStore(':memory:');
    for (const [id, c] of [['a', 'x'], ['b', 'x'], ['c', 'y'], ['d', 'z']] as const) insertGrant(db, grant(id, c));
    expect(revokeGrant(db, 'a', 5)).toBe(true);
    expect(revokeGrant(db, 'a', 6)).toBe(false);
    expect(revokeGrant(db, 'nope', 6)).toBe(false);
    expect(revokeClient(db, 'x', 7)).toBe(1);
    expect(revokeAll(db, 8)).toBe(2);
    const all = listGrants(db, { now: 9, includeInactive: true });
    expect(all.every((g) => g.status === 'revoked')).toBe(true);
    expect(all.find((g) => g.id === 'a')?.revokedAt).toBe(5);
  });

  test('createPersonalToken returns an mcpgw_pat_ token once and stores only its hash', () => {
    const db = openStore(':memory:');
    const { token, grantId } = createPersonalToken(db, { name: 'laptop script', backends: ['notes'], resource: RESOURCE, now: 100, random: secureRandom });
    expect(token.startsWith(PERSONAL_TOKEN_PREFIX)).toBe(true);
    const stored = db.query('SELECT token_hash FROM personal_tokens').all() as { token_hash: string }[];
    expect(stored).toEqual([{ token_hash: sha256Hex(token) }]);
    expect(JSON.stringify(db.query('SELECT * FROM grants').all())).not.toContain(token);
    expect(findPersonalToken(db, token)).toMatchObject({ id: grantId, kind: 'personal', registration: 'personal', clientName: 'laptop script', backends: ['notes'] });
    expect(findPersonalToken(db, token + 'x')).toBeUndefined();
    expect(listGrants(db, { now: 200 })[0]).toMatchObject({ registration: 'personal', status: 'active' });
  });
});
