/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies are navigated dynamically in assertions. */
/**
 * The guide's "Example 3: User Authentication Flow" verbatim against the whole platform (IAM on 8083 and
 * PlasmaVMC on 8084 in the guide; free ports here), with the CLI's auth wiring: the token IAM issues for
 * user-charlie is verified by PlasmaVMC against IAM's JWKS and checked against IAM's policies. Charlie has
 * no role yet, so step 4 is refused (403, naming the missing permission); once an admin binds the viewer
 * role on project-prod, the same call lists that project's VMs. Another project stays out of reach.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '@photoncloud/test-utils';
import { startInProcessPlatform } from './in-process-platform.js';

const EXAMPLE_3 = String.raw`# 1. Create User
curl -X POST http://localhost:8083/api/v1/users \
  -H "Content-Type: application/json" \
  -d '{
    "id": "user-charlie",
    "name": "Charlie Brown",
    "email": "charlie@example.com",
    "type": "user"
  }'

# 2. Issue Token
TOKEN=$(curl -s -X POST http://localhost:8083/api/v1/auth/token \
  -H "Content-Type: application/json" \
  -d '{
    "principal_id": "user-charlie",
    "scope_id": "project-prod",
    "ttl_seconds": 7200
  }' | jq -r '.data.token')

# 3. Verify Token
curl -X POST http://localhost:8083/api/v1/auth/verify \
  -H "Content-Type: application/json" \
  -d "{\"token\": \"$TOKEN\"}"

# 4. Use Token for API Call
curl -H "Authorization: Bearer $TOKEN" \
  "http://localhost:8084/api/v1/vms?org_id=org-123&project_id=project-prod"`;

/** Run a guide script with the ports substituted; every curl's JSON answer and status, in order. */
async function runScript(
  script: string,
  ports: Record<string, string>,
): Promise<Array<{ status: number; body: any }>> {
  let s = script;
  for (const [from, to] of Object.entries(ports)) s = s.replaceAll(`localhost:${from}`, to);
  // Every curl prints its body, a newline and its status on a line of its own (`-s` silences progress).
  s = s.replace(/^curl /gm, `curl -s -w '\\n@@%{http_code}\\n' `);
  const r = await run('bash', ['-c', `set -e\n${s}`], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  const out: Array<{ status: number; body: any }> = [];
  const parts = r.stdout.split(/\n@@(\d{3})\n/);
  for (let i = 0; i + 1 < parts.length; i += 2) {
    out.push({ status: Number(parts[i + 1]), body: JSON.parse(parts[i]!) });
  }
  return out;
}

test('guide Example 3 verbatim: IAM token used on PlasmaVMC, refused without a role, allowed with one', async () => {
  const platform = await startInProcessPlatform('local');
  try {
    const iam = platform.urls.get('iam')!;
    const vmc = platform.urls.get('plasmavmc')!;
    const ports = { '8083': iam.replace('http://', ''), '8084': vmc.replace('http://', '') };
    const [user, verify, vms] = await runScript(EXAMPLE_3, ports);
    assert.equal(user!.status, 201);
    assert.equal(user!.body.data.id, 'user-charlie');
    assert.equal(verify!.body.data.valid, true);
    assert.equal(verify!.body.data.scope_id, 'project-prod');
    // A verified token that holds no permission: 403, not the local admin's access.
    assert.equal(vms!.status, 403, JSON.stringify(vms!.body));
    assert.equal(vms!.body.error.code, 'FORBIDDEN');
    assert.match(vms!.body.error.message, /plasmavmc/);

    // The local admin (no token, loopback) binds the viewer role on project-prod.
    const bind = await fetch(`${iam}/api/v1/bindings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        principal_id: 'user-charlie',
        role: 'viewer',
        scope: { org_id: 'org-123', project_id: 'project-prod' },
      }),
    });
    assert.equal(bind.status, 201, await bind.text());
    // Policies reach PlasmaVMC through a store watch; step 4 again, verbatim, until it has.
    let again: { status: number; body: any } | undefined;
    for (let i = 0; i < 40; i++) {
      again = (await runScript(EXAMPLE_3.slice(EXAMPLE_3.indexOf('# 2.')), ports))[1];
      if (again?.status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(again?.status, 200, JSON.stringify(again?.body));
    assert.deepEqual(again!.body.data.vms, []);

    // Viewer on project-prod is not viewer elsewhere.
    const token = (
      (await (
        await fetch(`${iam}/api/v1/auth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ principal_id: 'user-charlie', scope_id: 'project-prod', ttl_seconds: 600 }),
        })
      ).json()) as any
    ).data.token as string;
    const other = await fetch(`${vmc}/api/v1/vms?org_id=org-123&project_id=project-other`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(other.status, 403);
  } finally {
    await platform.close();
  }
});
