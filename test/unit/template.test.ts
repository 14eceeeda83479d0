// Unit tests of the template engine's public API (the Go comparison lives in
// template-differential.test.ts).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import bcryptjs from "bcryptjs";
import { sprintf } from "../../src/template/fmt.ts";
import {
  buildTemplateInput,
  parseCacheStats,
  redactError,
  render,
  secretStrings,
  TemplateError,
  TemplateSet,
  templateInputFromVaultData,
  vaultDataFromJS,
  vaultDataFromJSON,
} from "../../src/template/index.ts";
import { formatFloat } from "../../src/template/strconv.ts";
import { GoInt } from "../../src/template/values.ts";

function run(text: string, secrets: Record<string, unknown> = {}): string {
  const set = new TemplateSet().parse("t", text);
  return set.execute("t", buildTemplateInput({ secrets: vaultDataFromJS(secrets) }));
}

function runErr(text: string, secrets: Record<string, unknown> = {}): TemplateError {
  try {
    run(text, secrets);
  } catch (e) {
    assert.ok(e instanceof TemplateError);
    return e;
  }
  assert.fail("expected an error");
}

describe("template sets", () => {
  test("renders a VSO-style connection string", () => {
    const out = run(
      '{{- printf "postgresql://%s:%s@db:5432/app" (get .Secrets "username") (get .Secrets "password") -}}',
      {
        username: "app",
        password: "pw",
      },
    );
    assert.equal(out, "postgresql://app:pw@db:5432/app");
  });

  test("source templates share define blocks", () => {
    const out = render(
      [
        { name: "src", text: '{{ define "creds" }}{{ .Secrets.user }}/{{ .Secrets.pass }}{{ end }}' },
        { name: "ns/obj/key", text: '[{{ template "creds" . }}]' },
      ],
      buildTemplateInput({ secrets: vaultDataFromJS({ user: "u", pass: "p" }) }),
    );
    assert.equal(out, "[u/p]");
  });

  test("a later template replaces a define unless the new body is empty", () => {
    const set = new TemplateSet()
      .parse("a", '{{ define "h" }}first{{ end }}')
      .parse("b", '{{ define "h" }}  {{ end }}')
      .parse("main", '{{ template "h" }}');
    assert.equal(set.execute("main", buildTemplateInput({})), "first");
    set.parse("c", '{{ define "h" }}third{{ end }}');
    assert.equal(set.execute("main", buildTemplateInput({})), "third");
  });

  test("duplicate define in one text is a parse error", () => {
    assert.throws(
      () => new TemplateSet().parse("t", '{{ define "x" }}1{{ end }}{{ define "x" }}2{{ end }}'),
      (e: unknown) =>
        e instanceof TemplateError &&
        e.kind === "parse" &&
        e.message === 'template: t:1: template: multiple definition of template "x"',
    );
  });

  test("functions outside VSO's allow-list do not exist", () => {
    for (const fn of ["date", "now", "env", "uuidv4", "randAlpha", "genPrivateKey"]) {
      assert.throws(
        () => new TemplateSet().parse("t", `{{ ${fn} }}`),
        (e: unknown) =>
          e instanceof TemplateError && e.message === `template: t:1: function "${fn}" not defined`,
      );
    }
  });

  test("executing an unknown template name", () => {
    const set = new TemplateSet().parse("t", "x");
    assert.throws(() => set.execute("nope", null), /no template "nope" associated/);
  });

  test("execution errors carry Go's location and context", () => {
    const e = runErr("a\n{{ .Secrets.user.name }}", { user: "bob" });
    assert.equal(e.kind, "exec");
    assert.equal(
      e.message,
      'template: t:2:11: executing "t" at <.Secrets.user.name>: can\'t evaluate field name in type interface {}',
    );
  });

  test("parsed templates are cached by name and content", () => {
    const text = `{{ .Secrets.x }} cache-test-${Math.random()}`;
    const before = parseCacheStats();
    run(text, { x: 1 });
    run(text, { x: 2 });
    const after = parseCacheStats();
    assert.equal(after.misses - before.misses, 1);
    assert.equal(after.hits - before.hits, 1);
  });

  test("runaway recursion fails like Go instead of crashing", () => {
    const e = runErr('{{ define "r" }}{{ template "r" }}{{ end }}{{ template "r" }}');
    assert.match(e.message, /exceeded maximum template depth \(100000\)$/);
  });
});

describe("template data", () => {
  test("numbers from Vault JSON are json.Number, as with VSO's Vault client", () => {
    const secrets = vaultDataFromJSON('{"port": 5432, "ratio": 1.50, "big": 12345678901234567890}');
    const set = new TemplateSet().parse(
      "t",
      '{{ .Secrets.port }} {{ typeOf .Secrets.port }} {{ printf "%d" .Secrets.port }} {{ add .Secrets.port 1 }} {{ .Secrets.ratio }} {{ .Secrets.big }}',
    );
    assert.equal(
      set.execute("t", buildTemplateInput({ secrets })),
      "5432 json.Number %!d(json.Number=5432) 5433 1.50 12345678901234567890",
    );
  });

  test("kv-v2 responses expose data and metadata", () => {
    const data = vaultDataFromJSON('{"data": {"password": "p"}, "metadata": {"version": 3}}');
    const input = templateInputFromVaultData(data, { kvV2: true, labels: { app: "web" } });
    const set = new TemplateSet().parse(
      "t",
      "{{ .Secrets.password }} v{{ .Metadata.version }} {{ .Labels.app }}",
    );
    assert.equal(set.execute("t", input), "p v3 web");
  });

  test("kv-v1 responses get an empty, non-nil .Metadata and nil annotations", () => {
    const input = templateInputFromVaultData(vaultDataFromJSON('{"password": "p"}'));
    const set = new TemplateSet().parse(
      "t",
      "{{ toJson .Metadata }} {{ toJson .Annotations }} {{ .Annotations.x }}",
    );
    assert.equal(set.execute("t", input), "{} null <no value>");
  });

  test("the input prints and types like *helpers.SecretInput", () => {
    const set = new TemplateSet().parse("t", "{{ typeOf . }} {{ . }}");
    assert.equal(
      set.execute("t", buildTemplateInput({ secrets: vaultDataFromJS({ a: "b" }) })),
      "*helpers.SecretInput {map[a:b] map[] map[] map[]}",
    );
  });
});

describe("redaction", () => {
  test("secret values are replaced in error messages", () => {
    const secrets = { password: "hunter2", user: "bob" };
    const e = runErr("{{ .Secrets.password | atoi | repeat .Secrets.user }}", secrets);
    const msg = redactError(e, secretStrings(vaultDataFromJS(secrets)));
    assert.ok(!msg.includes("hunter2"));
    assert.ok(!msg.includes("bob"));
  });

  test("errors that print values are cut after the location, like VSO", () => {
    const e = runErr("{{ range .Secrets.password }}{{ end }}", { password: "hunter2" });
    assert.match(e.message, /range can't iterate over hunter2$/);
    assert.equal(
      redactError(e, []),
      'template: t:1:17: executing "t" at <.Secrets.password>: range can\'t iterate over <redacted>',
    );
  });

  test("longer secrets are replaced before their substrings", () => {
    assert.equal(redactError(new Error("x abcdef y abc"), ["abc", "abcdef"]), "x <redacted> y <redacted>");
  });
});

describe("non-deterministic functions keep their shape", () => {
  test("randInt stays within [min, max)", () => {
    for (let i = 0; i < 50; i++) {
      const n = Number(run("{{ randInt 3 7 }}"));
      assert.ok(n >= 3 && n < 7);
    }
  });

  test("shuffle permutes runes", () => {
    const out = run('{{ shuffle "héllo✓" }}');
    assert.deepEqual([...out].sort(), [..."héllo✓"].sort());
  });

  test("bcrypt and htpasswd produce verifiable $2a$ hashes", () => {
    const hash = run('{{ bcrypt "s3cret" }}');
    assert.match(hash, /^\$2a\$10\$[./A-Za-z0-9]{53}$/);
    assert.ok(bcryptjs.compareSync("s3cret", hash));
    const line = run('{{ htpasswd "admin" "pw" }}');
    assert.ok(line.startsWith("admin:$2a$10$"));
    assert.ok(bcryptjs.compareSync("pw", line.slice("admin:".length)));
  });

  test("ago reports elapsed time", () => {
    assert.match(run("{{ ago (int64 0) }}"), /^\d+h\d+m\d+s$/);
  });
});

describe("fmt and strconv", () => {
  test("float formatting rounds the exact binary value half to even", () => {
    assert.equal(formatFloat(0.5, "f", 0), "0");
    assert.equal(formatFloat(1.5, "f", 0), "2");
    assert.equal(formatFloat(2.5, "f", 0), "2");
    assert.equal(formatFloat(1.005, "f", 2), "1.00");
    assert.equal(formatFloat(0.125, "f", 2), "0.12");
    assert.equal(formatFloat(1e6, "g", -1), "1e+06");
    assert.equal(formatFloat(123456.0, "g", -1), "123456");
    assert.equal(formatFloat(1e-5, "g", -1), "1e-05");
  });

  test("printf handles Go's verbs, flags and argument errors", () => {
    const i = (n: number) => new GoInt("int", BigInt(n));
    assert.equal(sprintf("%05d|%-4s|%x|%q", i(42), "ab", "hi", "x\n"), '00042|ab  |6869|"x\\n"');
    assert.equal(sprintf("%d %d", i(1)), "1 %!d(MISSING)");
    assert.equal(sprintf("%d", "s", i(2)), "%!d(string=s)%!(EXTRA int=2)");
    assert.equal(sprintf("%[2]v %[1]v", "a", "b"), "b a");
  });
});

describe("VSO redaction patterns", () => {
  test("if/with errors keep only the matched phrase, as VSO's ungrouped alternation does", () => {
    assert.equal(
      redactError(new Error('template: t:1:3: executing "t" at <x>: if/with can\'t use secret'), []),
      "if/with can't use <redacted>",
    );
  });
});
