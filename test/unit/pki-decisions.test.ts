// VaultPKISecret's decisions, table-driven with a fixed clock: why a
// certificate is issued, when it is left alone, and the expiryOffset in force
// (an offset not shorter than the lifetime is clamped: no certificate is born
// inside its renewal window, so none is re-issued in a loop).
import assert from "node:assert/strict";
import { test } from "node:test";
import { decidePKI, offsetInForce, type PKIFacts } from "../../src/operator/kinds/pki/decisions.ts";
import { inRenewalWindow, renewalDelayMs } from "../../src/operator/kinds/pki/pki.ts";

const NOW_S = 1_800_000_000;
const NOW = NOW_S * 1000;

function facts(over: Partial<PKIFacts> = {}): PKIFacts {
  return {
    nowMs: NOW,
    generation: 2,
    lastGeneration: 2,
    serial: "aa:bb",
    expiration: NOW_S + 3600,
    lastRotation: NOW_S - 60,
    offsetMs: 600_000,
    metaChanged: false,
    interrupted: false,
    ...over,
  };
}

test("decidePKI: issue reasons in order of precedence", () => {
  const cases: [string, Partial<PKIFacts>, string][] = [
    ["no certificate yet", { serial: undefined, interrupted: true }, "InitialSync"],
    ["never synced", { lastGeneration: 0 }, "InitialSync"],
    ["a crash between Vault and the commit", { interrupted: true, generation: 3 }, "InterruptedSync"],
    ["spec changed", { generation: 3, metaChanged: true }, "ResourceUpdated"],
    ["labels changed", { metaChanged: true, destinationProblem: "SecretDataDrift" }, "ForceSync"],
    [
      "renewal point reached",
      { nowMs: (NOW_S + 3000) * 1000, destinationProblem: "SecretDataDrift" },
      "InRenewalWindow",
    ],
    ["destination deleted", { destinationProblem: "InexistentDestination" }, "InexistentDestination"],
    ["destination drifted", { destinationProblem: "SecretDataDrift" }, "SecretDataDrift"],
  ];
  for (const [name, over, reason] of cases) {
    assert.deepEqual(decidePKI(facts(over)), { action: "issue", reason }, name);
  }
  assert.deepEqual(decidePKI(facts()), { action: "wait", reason: "CertificateCurrent", offsetMs: 600_000 });
});

test("offsetInForce: an offset not shorter than the lifetime is clamped to half of it", () => {
  const cases: [string, number, number, number, { offsetMs: number; clamped: boolean }][] = [
    ["shorter: kept", 3_000, NOW_S + 10, NOW_S, { offsetMs: 3_000, clamped: false }],
    ["equal: clamped", 9_000, NOW_S + 9, NOW_S, { offsetMs: 4_500, clamped: true }],
    ["longer (ttl 6s, offset 1h): clamped", 3_600_000, NOW_S + 6, NOW_S, { offsetMs: 3_000, clamped: true }],
    ["unknown lifetime: kept", 3_600_000, 0, NOW_S, { offsetMs: 3_600_000, clamped: false }],
  ];
  for (const [name, off, exp, issued, want] of cases)
    assert.deepEqual(offsetInForce(off, exp, issued), want, name);
});

test("expiryOffset > ttl: a fresh certificate is not due, and stays current for half of its life", () => {
  const ttlS = 6;
  const f = facts({ expiration: NOW_S + ttlS, lastRotation: NOW_S, offsetMs: 3_600_000 });
  const d = decidePKI(f);
  assert.equal(d.action, "wait", "no re-issue right after issue");
  if (d.action !== "wait") return;
  assert.equal(d.offsetMs, 3_000);
  assert.equal(inRenewalWindow(f.expiration, d.offsetMs, f.lastRotation, NOW + 1_500), false);
  assert.equal(inRenewalWindow(f.expiration, d.offsetMs, f.lastRotation, NOW + 3_000), true);
  const delay = renewalDelayMs(f.expiration, d.offsetMs, NOW, () => 0);
  assert.equal(delay, 3_000, "the next look is at the renewal point, not at once");
  // At most one certificate per half lifetime: over 20 s with ttl 6s, about 7 (it was 58 at 175/min).
  assert.ok(20_000 / delay <= 7);
});
