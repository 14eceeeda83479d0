// The walkthrough runner (docs/walkthrough/walkthrough.sh) against the
// walkthrough's text: every command is there in order, nothing differs but
// the blocks that say why, and the manifests it applies are the text's own.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { tryNext } from "../../src/dev/demo-node.ts";
import { REPO_ROOT } from "../../src/dev/paths.ts";
import { RUNNER_SCRIPT, SEED_TEXT, WALKTHROUGH_DIR } from "../../src/dev/walkthrough/names.ts";
import { differencesFromSeed, isCommandLine, parseRunner } from "../../src/dev/walkthrough/runner.ts";

const runner = readFileSync(RUNNER_SCRIPT, "utf8");
const seed = readFileSync(SEED_TEXT, "utf8");

test("seed.txt is the walkthrough as given in ../shared/seed", (t) => {
  const dir = join(REPO_ROOT, "..", "shared", "seed");
  const original = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith(".txt")) : undefined;
  if (!original) {
    t.skip("../shared/seed is not beside this checkout");
    return;
  }
  assert.equal(seed, readFileSync(join(dir, original), "utf8"));
});

test("the runner differs from the walkthrough only in its blocks, each with a reason", () => {
  assert.deepEqual(differencesFromSeed(runner, seed), []);
  const { blocks } = parseRunner(runner);
  for (const b of blocks) assert.ok(b.reason.length > 20, `block at line ${b.line} says why`);
  const replaced = blocks.flatMap((b) => b.originals).filter(isCommandLine);
  // The walkthrough's commands that need the network, a terminal or an hour, and the two whose
  // Vault template markers the text lost. A new replacement must be added here on purpose.
  assert.deepEqual(replaced, [
    "helm repo add hashicorp https://helm.releases.hashicorp.com",
    "kubectl apply -f https://github.com/hashicorp/vault-secrets-operator/releases/latest/download/vault-secrets-operator.yaml",
    "kubectl exec -n vault -it vault-0 -- sh",
    "vault write database/config/my-postgres \\",
    "vault write database/roles/myapp-db-role \\",
    "kubectl get secret myapp-db-dynamic -w",
    "kubectl apply -f postgres-deployment.yaml",
    "kubectl logs -f deployment/myapp",
    "kubectl port-forward -n vault-secrets-operator-system svc/vault-secrets-operator-controller-manager-metrics-service 8443:8443",
  ]);
});

test("the check finds an edited line, a missing command and a block without a reason", () => {
  const edited = runner.replace(
    "kubectl get serviceaccount myapp-sa",
    "kubectl get serviceaccount myapp-sa -o yaml",
  );
  assert.match(differencesFromSeed(edited, seed).join("\n"), /not in the walkthrough.*myapp-sa -o yaml/);
  assert.match(
    differencesFromSeed(edited, seed).join("\n"),
    /missing: kubectl get serviceaccount myapp-sa$/m,
  );
  const unexplained = runner.replace(
    "kubectl get serviceaccount myapp-sa\n",
    "#- kubectl get serviceaccount myapp-sa\nkubectl get sa\n#.\n",
  );
  assert.throws(() => parseRunner(unexplained), /needs "#\?" with its reason/);
});

test("the manifests the runner applies are blocks of the walkthrough's text, as written", () => {
  const seedText = seed
    .split("\n")
    .map((l) => l.trimEnd())
    .join("\n");
  const files = [
    ...readdirSync(join(WALKTHROUGH_DIR, "examples")).map((f) => join("examples", f)),
    "myapp-deployment.yaml",
  ];
  for (const f of files) {
    const text = readFileSync(join(WALKTHROUGH_DIR, f), "utf8")
      .split("\n")
      .map((l) => l.trimEnd())
      .join("\n")
      .trimEnd();
    assert.ok(text.length > 100 && seedText.includes(text), `${f} is a block of seed.txt`);
    assert.ok(runner.includes(`kubectl apply -f ${f}`), `the runner applies ${f}`);
  }
});

test("the runner is valid bash", () => {
  execFileSync("bash", ["-n", RUNNER_SCRIPT]);
});

test("make demo ends with the walkthrough's own commands for the operator's Pods and logs", () => {
  const next = tryNext("").map((l) => l.trim());
  for (const cmd of [
    "kubectl get pods -n vault-secrets-operator-system",
    "kubectl logs -n vault-secrets-operator-system deployment/vault-secrets-operator-controller-manager",
    "kubectl port-forward -n vault-secrets-operator-system svc/vault-secrets-operator-controller-manager-metrics-service 8443:8443 &",
  ]) {
    assert.ok(seed.split("\n").includes(cmd.replace(/ &$/, "")), `the walkthrough has: ${cmd}`);
    assert.ok(next.includes(cmd), `make demo suggests: ${cmd}`);
  }
});
