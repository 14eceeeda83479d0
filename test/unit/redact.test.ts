// Secret fragments are kept out of template error messages: whole values,
// fragments of at least four characters (as mustToDate quotes them), escaped
// forms, and the fallback for very large secret data.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MIN_RUN, redactFragments } from "../../src/operator/redact.ts";
import { renderGoTemplates } from "../../src/operator/templates.ts";

const SECRET = "p4ssW0rd-2026-SUFFIXZZ";

function fragmentsOf(value: string, n = MIN_RUN): string[] {
  const out: string[] = [];
  for (let i = 0; i + n <= value.length; i++) out.push(value.slice(i, i + n));
  return out;
}

function assertNoFragment(message: string, value: string) {
  for (const f of fragmentsOf(value)) assert.ok(!message.includes(f), `"${f}" leaked in: ${message}`);
}

test("redactFragments: every run of 4+ characters that occurs in a secret is replaced", () => {
  const cases: [string, string][] = [
    ["whole value", `bad value "${SECRET}"`],
    ["suffix, as mustToDate quotes it", `parsing time "${SECRET}": extra text: "SUFFIXZZ"`],
    ["prefix", `cannot parse "p4ssW0" as "2006"`],
    ["middle, unquoted", `oops 2026-SUF here`],
  ];
  for (const [name, msg] of cases) {
    const out = redactFragments(msg, [SECRET]);
    assertNoFragment(out, SECRET);
    assert.match(out, /<redacted>/, name);
  }
  assert.equal(
    redactFragments("template: t:1:2: nothing secret", [SECRET]),
    "template: t:1:2: nothing secret",
  );
});

test("redactFragments: escaped forms of values with quotes or newlines", () => {
  const v = 'line1\nli"ne2-tail';
  const out = redactFragments(`extra text: "li\\"ne2-tail" and "line1\\nli"`, [v]);
  assert.ok(!out.includes("ne2-tail") && !out.includes("line1"), out);
});

test("redactFragments: beyond the index limit the detail is withheld, the position kept", () => {
  const big = "Q".repeat(600 * 1024);
  const out = redactFragments(`template: ns/x/key:1:5: executing "ns/x/key" at <x>: boom "QQQQQ"`, [big]);
  assert.equal(out, "template: ns/x/key:1:5: <redacted> (detail withheld: it may quote secret data)");
});

test("renderGoTemplates: mustToDate on a secret leaks no fragment of it", () => {
  const values = ["2026-11-29SUFFIXSECRET", "s3cr3t-Value-Zq9", "2024-01-02T03:04:05Zextra"];
  for (const value of values) {
    let message = "";
    try {
      renderGoTemplates({
        templates: [{ key: "d", name: "ns/r/d", text: '{{ mustToDate "2006-01-02" .Secrets.password }}' }],
        sourceTemplates: [],
        data: { Secrets: { password: value }, Metadata: {}, Annotations: {}, Labels: {} },
      });
    } catch (err) {
      message = (err as Error).message;
    }
    assert.match(message, /template error/, `mustToDate fails on ${value}`);
    assert.match(message, /ns\/r\/d/, "the template position is kept");
    assertNoFragment(message, value);
  }
});
