// Issue 22, item 3: template-error redaction cannot be sidestepped by
// transforming the value first. `{{ .Secrets.password | b64enc | fail }}` used
// to put the base64 of the password into the condition and the Event. Now a
// failing function's arguments and error text never leave the engine's safe
// message: for every transform (base64, hex, split and joined, reversed,
// upper-cased) and every function that fails on its argument, the error holds
// no fragment of 6 or more characters of the sentinel or of any transform of it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { renderGoTemplates } from "../../src/operator/templates.ts";
import { buildTemplateInput, TemplateError, TemplateSet } from "../../src/template/index.ts";

const FRAGMENT = 6;
const SENTINEL = "Zq9vT3mWx8LpR2sKd7Nh";

/** The forms of the sentinel a template can make, and the template text making each. */
const transforms: [name: string, value: string, text: string][] = [
  ["base64", Buffer.from(SENTINEL).toString("base64"), "(b64enc .Secrets.password)"],
  ["hex", Buffer.from(SENTINEL).toString("hex"), '(printf "%x" .Secrets.password)'],
  ["split and joined", SENTINEL.split("").join(" "), '(splitList "" .Secrets.password | join " ")'],
  ["reversed", SENTINEL.split("").reverse().join(""), '(splitList "" .Secrets.password | reverse | join "")'],
  ["upper-cased", SENTINEL.toUpperCase(), "(upper .Secrets.password)"],
  ["as is", SENTINEL, ".Secrets.password"],
];

/** Functions (and actions) that fail on their argument X, most of them quoting it. */
const sinks: [name: string, text: (x: string) => string][] = [
  ["fail", (x) => `{{ fail ${x} }}`],
  ["fail, piped", (x) => `{{ ${x} | fail }}`],
  ["mustRegexSplit", (x) => `{{ mustRegexSplit (printf "(%s" ${x}) "x" -1 }}`],
  ["mustToDate", (x) => `{{ mustToDate "2006-01-02" ${x} }}`],
  ["a regular expression made of it", (x) => `{{ mustRegexMatch (printf "(%s" ${x}) "x" }}`],
  ["mustRegexFind", (x) => `{{ mustRegexFind (printf "[%s" ${x}) "x" }}`],
  ["mustFromJson", (x) => `{{ mustFromJson (printf "{%s" ${x}) }}`],
  ["semver", (x) => `{{ semver ${x} }}`],
  ["urlParse", (x) => `{{ urlParse (printf "http://[%s" ${x}) }}`],
  ["range over it", (x) => `{{ range ${x} }}{{ end }}`],
  ["range over it with two variables", (x) => `{{ range $i, $v := len ${x} }}{{ end }}`],
  ["index with it", (x) => `{{ index (dict) ${x} "k" }}`],
  ["index out of range by its length", (x) => `{{ index (list 1) (len ${x}) }}`],
  ["call of a non-function", (x) => `{{ call ${x} }}`],
];

/** Every fragment of FRAGMENT characters of a value. */
function fragments(value: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + FRAGMENT <= value.length; i++) out.push(value.slice(i, i + FRAGMENT));
  return out;
}

const forbidden = [...new Set(transforms.flatMap(([, value]) => fragments(value)))];

function assertNoFragment(message: string, what: string): void {
  const leaked = forbidden.filter((f) => message.includes(f));
  assert.deepEqual(leaked, [], `${what} leaked in: ${message}`);
}

const secrets = new Map<string, unknown>([["password", SENTINEL]]);

for (const [transform, , x] of transforms) {
  for (const [sink, text] of sinks) {
    test(`${sink} of the sentinel ${transform}: the safe message holds no fragment of it`, () => {
      const name = "ns/r/out";
      let err: unknown;
      try {
        new TemplateSet().parse(name, text(x)).execute(name, buildTemplateInput({ secrets }));
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof TemplateError, `${text(x)} fails`);
      // The engine, on its own, with no list of secret values to redact.
      assert.match(err.safeMessage, /^template: ns\/r\/out:1:\d+: executing "ns\/r\/out" at </);
      assertNoFragment(err.safeMessage, `${sink} of the ${transform} sentinel`);
      // And what the operator reports (conditions, Events, the log).
      let reported = "";
      try {
        renderGoTemplates({
          templates: [{ key: "out", name, text: text(x) }],
          sourceTemplates: [],
          data: { Secrets: { password: SENTINEL }, Metadata: {}, Annotations: {}, Labels: {} },
        });
      } catch (e) {
        reported = (e as Error).message;
      }
      assert.match(reported, /^template error: template: ns\/r\/out:1:\d+: /);
      assertNoFragment(reported, `${sink} of the ${transform} sentinel`);
    });
  }
}

test("the safe message keeps the function name and the position; Go's message is unchanged", () => {
  const set = new TemplateSet().parse("ns/r/out", "{{ .Secrets.password | b64enc | fail }}");
  let err: TemplateError | undefined;
  try {
    set.execute("ns/r/out", buildTemplateInput({ secrets }));
  } catch (e) {
    err = e as TemplateError;
  }
  assert.equal(
    err?.safeMessage,
    'template: ns/r/out:1:32: executing "ns/r/out" at <fail>: error calling fail: ' +
      "<detail withheld: it may carry secret data>",
  );
  assert.equal(
    err?.message,
    `template: ns/r/out:1:32: executing "ns/r/out" at <fail>: error calling fail: ${Buffer.from(SENTINEL).toString("base64")}`,
  );
});

test("errors that name only types, fields and template text keep their detail", () => {
  const cases: [string, RegExp][] = [
    [
      "{{ .Secrets.password.x }}",
      /can't evaluate field x in type interface \{\}|nil pointer|can't evaluate field x/,
    ],
    ['{{ template "missing" }}', /template "missing" not defined/],
    ["{{ eq .Secrets.password 1 }}", /error calling eq: incompatible types for comparison: string and int/],
    ["{{ index (list 1) (len .Secrets.password) }}", /error calling index: <detail withheld/],
    ["{{ printf 1 }}", /expected string; found 1/],
    ["{{ printf (len .Secrets) }}", /wrong type for value; expected string; got int/],
  ];
  for (const [text, want] of cases) {
    let safe = "";
    try {
      new TemplateSet().parse("t", text).execute("t", buildTemplateInput({ secrets }));
    } catch (e) {
      safe = (e as TemplateError).safeMessage;
    }
    assert.match(safe, want, text);
  }
});
