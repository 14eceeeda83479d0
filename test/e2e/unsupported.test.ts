// Kinds and auth methods this build does not serve still install and apply,
// and a resource that uses them gets a clear condition and a Warning event.
import assert from "node:assert/strict";
import { test } from "node:test";
import { VSO } from "../../src/operator/resources.ts";
import { eventually, isolatedNamespace, testEnv } from "../support/env.ts";
import { eventsFor, startOperator, waitForCondition } from "../support/operator.ts";

const API = "secrets.hashicorp.com/v1beta1";

test("HCP and CSI kinds, and aws/gcp auth, are reported as unsupported", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "unsup");
  await startOperator(t, env, { namespaces: [ns] });
  await env.kube.create(VSO.HCPAuth, ns, {
    apiVersion: API,
    kind: "HCPAuth",
    metadata: { name: "hcp" },
    spec: { organizationID: "o", projectID: "p", servicePrincipal: { secretRef: "sp" } },
  });
  await env.kube.create(VSO.HCPVaultSecretsApp, ns, {
    apiVersion: API,
    kind: "HCPVaultSecretsApp",
    metadata: { name: "app" },
    spec: { appName: "a", destination: { name: "d", create: true } },
  });
  await env.kube.create(VSO.CSISecrets, ns, {
    apiVersion: API,
    kind: "CSISecrets",
    metadata: { name: "csi" },
    spec: { accessControl: { serviceAccountPattern: ".*" }, secrets: {} },
  });
  await env.kube.create(VSO.VaultConnection, ns, {
    apiVersion: API,
    kind: "VaultConnection",
    metadata: { name: "default" },
    spec: { address: env.state.vault.address },
  });
  await env.kube.create(VSO.VaultAuth, ns, {
    apiVersion: API,
    kind: "VaultAuth",
    metadata: { name: "aws" },
    spec: { vaultConnectionRef: "default", method: "aws", mount: "aws", aws: { role: "r" } },
  });
  for (const [kind, name] of [
    ["HCPAuth", "hcp"],
    ["HCPVaultSecretsApp", "app"],
    ["CSISecrets", "csi"],
  ] as const) {
    const c = await waitForCondition(env, kind, ns, name, "Ready", "False");
    assert.equal(c.reason, "Unsupported");
    assert.match(c.message, new RegExp(`${kind} is not supported by this build`));
    // The Event is posted after the status write that the condition comes with.
    await eventually(`${kind} event`, async () =>
      (await eventsFor(env, ns, name)).some((e) => e.type === "Warning" && e.reason === "Unsupported"),
    );
  }
  const a = await waitForCondition(env, "VaultAuth", ns, "aws", "Healthy", "False");
  assert.match(a.message, /auth method "aws" is not supported/);
});
