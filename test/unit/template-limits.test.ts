// A template cannot allocate without bound (issue 10, defect 3): output and
// function results stop at 1 MiB with an error naming the limit. Nor can it hold
// the event loop (issue 22): steps and time are budgeted.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Budget,
  buildTemplateInput,
  MAX_TEMPLATE_MILLIS,
  MAX_TEMPLATE_STEPS,
  render,
  TemplateSet,
} from "../../src/template/index.ts";
import { MAX_TEMPLATE_OUTPUT_BYTES } from "../../src/template/limits.ts";

const run = (text: string) => render([{ name: "t", text }], new Map());

// Functions that would allocate beyond the bound refuse before allocating ("would produce").
for (const [what, text, error] of [
  [
    "repeat 50000000",
    '{{ repeat 50000000 "x" }}',
    /repeat would produce 50000000 items, more than the limit of 1048576/,
  ],
  ["until 100000000", "{{ range until 100000000 }}{{ end }}", /untilStep would produce 100000000 items/],
  ["indent 50000000", '{{ indent 50000000 "x" }}', /indent would produce 50000001 items/],
  // The output itself stops growing at the bound.
  [
    "many writes",
    `{{ range until 1100 }}${"x".repeat(1000)}{{ end }}`,
    /template output exceeds the limit of 1048576 bytes/,
  ],
  [
    "one large print",
    '{{ printf "%s%s" (repeat 600000 "a") (repeat 600000 "b") }}',
    /result exceeds the limit of 1048576/,
  ],
] as const) {
  test(`${what} fails with the limit`, () => {
    assert.throws(() => run(text), error);
  });
}

test("output up to the limit is fine, multi-byte characters counted as bytes", () => {
  assert.equal(run(`{{ repeat ${MAX_TEMPLATE_OUTPUT_BYTES} "x" }}`).length, MAX_TEMPLATE_OUTPUT_BYTES);
  // 3 bytes each in UTF-8: 400 000 of them are 1 200 000 bytes (written four at a time,
  // within the step budget).
  assert.throws(() => run("{{ range until 100000 }}한한한한{{ end }}"), /limit of 1048576/);
  assert.equal(run("{{ range until 1000 }}한{{ end }}").length, 1000);
});

// Issue 22, item 2: a template cannot hold the event loop. Every execution has a step
// budget (nodes, iterations, calls, result sizes) and a wall-clock budget.
const runIn = (name: string, text: string, budget?: Budget) =>
  new TemplateSet().parse(name, text).execute(name, new Map(), budget);

/** Runs `fn`, returning the error it throws and how long it took. */
function timedFailure(fn: () => unknown): { message: string; ms: number } {
  const start = performance.now();
  try {
    fn();
  } catch (e) {
    return { message: (e as Error).message, ms: performance.now() - start };
  }
  assert.fail("the template rendered");
}

const anyExceeded = new RegExp(
  `template execution budget exceeded: more than (${MAX_TEMPLATE_STEPS} steps|${MAX_TEMPLATE_MILLIS} ms)`,
);
const stepsExceeded = new RegExp(`template execution budget exceeded: more than ${MAX_TEMPLATE_STEPS} steps`);

for (const [what, text] of [
  [
    "two nested ranges over until 400000",
    "{{ range until 400000 }}{{ range until 400000 }}{{ end }}{{ end }}",
  ],
  [
    "nested ranges that print",
    "{{ range $i := until 400000 }}{{ range $j := until 400000 }}{{ $i }}{{ $j }}{{ end }}{{ end }}",
  ],
  [
    "a thousand by a thousand calls",
    "{{ range $i := until 1000 }}{{ range until 1000 }}{{ add $i 1 }}{{ end }}{{ end }}",
  ],
  [
    "hashing a long string in a loop (string arguments count)",
    '{{ $s := repeat 1000000 "x" }}{{ range until 100000 }}{{ $h := sha256sum $s }}{{ end }}',
  ],
  ["until in a loop (allocation counts)", "{{ range until 100 }}{{ $x := until 100000 }}{{ end }}"],
  [
    "append in a loop (copies count)",
    "{{ $x := list }}{{ range until 10000 }}{{ $x = append $x 1 }}{{ end }}",
  ],
  ["a doubling list printed", "{{ $x := list 1 }}{{ range until 40 }}{{ $x = list $x $x }}{{ end }}{{ $x }}"],
  [
    "a doubling list to JSON",
    "{{ $x := list 1 }}{{ range until 40 }}{{ $x = list $x $x }}{{ end }}{{ toJson $x }}",
  ],
  [
    "a doubling list copied",
    "{{ $x := list 1 }}{{ range until 40 }}{{ $x = list $x $x }}{{ end }}{{ deepCopy $x }}",
  ],
  [
    "a doubling dict merged into itself",
    '{{ $x := dict "a" 1 }}{{ range until 40 }}{{ $x = dict "a" $x "b" $x }}{{ end }}{{ $_ := mergeOverwrite $x $x }}',
  ],
] as const) {
  test(`the step budget stops ${what}, naming the template`, () => {
    // Deterministic: the steps run out, whatever the machine's speed.
    const budget = new Budget({ steps: MAX_TEMPLATE_STEPS, millis: 60_000 });
    const { message } = timedFailure(() => runIn("ns/stall/out", text, budget));
    assert.match(message, /^template: ns\/stall\/out:1:\d+: executing "ns\/stall\/out" at </);
    assert.match(message, stepsExceeded);
  });
}

// Timed with the default budget: on a quiet machine these end in about 100 ms; the
// bound leaves room for a machine shared with other test runs.
for (const text of [
  "{{ range until 900000 }}{{ range until 900000 }}{{ end }}{{ end }}",
  "{{ range $i := until 400000 }}{{ range $j := until 400000 }}{{ $i }}{{ $j }}{{ end }}{{ end }}",
]) {
  test(`${text} ends well under a second`, () => {
    const { message, ms } = timedFailure(() => runIn("ns/stall/out", text));
    assert.match(message, /executing "ns\/stall\/out"/);
    assert.match(message, anyExceeded);
    assert.ok(ms < 750, `failed after ${Math.round(ms)} ms`);
  });
}

test("the wall-clock budget stops slow steps (bcrypt in a loop), naming the template", () => {
  const budget = new Budget({ steps: Number.MAX_SAFE_INTEGER, millis: 200 });
  const { message, ms } = timedFailure(() =>
    runIn("ns/slow/out", '{{ range until 1000 }}{{ bcrypt "x" }}{{ end }}', budget),
  );
  assert.match(message, /^template: ns\/slow\/out:1:\d+: executing "ns\/slow\/out" at <bcrypt "x">/);
  assert.match(message, /budget exceeded: more than 200 ms/);
  // The clock is read after each hash: the budget plus one hash (tens of milliseconds on
  // a quiet machine, more on a busy one), not the thousand hashes asked for.
  assert.ok(ms < 2000, `failed after ${Math.round(ms)} ms`);
  // With the default budget, bcrypt's price in steps or the clock stops it.
  assert.match(
    timedFailure(() => runIn("t", '{{ range until 1000 }}{{ bcrypt "x" }}{{ end }}')).message,
    anyExceeded,
  );
});

test("a smaller wall-clock budget is read every few steps", () => {
  const budget = new Budget({ steps: Number.MAX_SAFE_INTEGER, millis: 20 });
  const { message, ms } = timedFailure(() =>
    runIn("t", "{{ range until 10000 }}{{ range until 10000 }}{{ end }}{{ end }}", budget),
  );
  assert.match(message, /budget exceeded: more than 20 ms/);
  assert.ok(ms < 500, `failed after ${Math.round(ms)} ms`);
});

test("one budget shared by several executions runs out across them", () => {
  const set = new TemplateSet().parse("a", "{{ range until 150000 }}{{ end }}");
  const budget = new Budget({ steps: MAX_TEMPLATE_STEPS, millis: 60_000 });
  set.execute("a", new Map(), budget);
  assert.throws(() => set.execute("a", new Map(), budget), stepsExceeded);
  // Each execution without one has its own.
  const roomy = () => new Budget({ steps: MAX_TEMPLATE_STEPS, millis: 60_000 });
  set.execute("a", new Map(), roomy());
  set.execute("a", new Map(), roomy());
});

test("a legitimate big-ish template renders within the budget", () => {
  const secrets = new Map<string, unknown>();
  for (let i = 0; i < 2000; i++) secrets.set(`key${String(i).padStart(4, "0")}`, `value-${i}`);
  const text = [
    "{{- range $k, $v := .Secrets }}{{ $k | upper }}={{ $v | b64enc | quote }}\n{{ end -}}",
    '{{- range $i := until 5000 }}{{ printf "line %05d %s" $i (sha256sum (toString $i)) }}\n{{ end -}}',
    "{{- toPrettyJson .Secrets | len }}",
  ].join("");
  const budget = new Budget({ steps: MAX_TEMPLATE_STEPS, millis: 60_000 });
  const out = new TemplateSet().parse("big", text).execute("big", buildTemplateInput({ secrets }), budget);
  // A fifth of the budget (about 100 ms on a quiet machine, well within the time budget).
  assert.ok(budget.stepsUsed() < MAX_TEMPLATE_STEPS / 4, `${budget.stepsUsed()} steps`);
  const lines = out.split("\n");
  assert.equal(lines.length, 2000 + 5000 + 1);
  assert.equal(lines[0], `KEY0000="${Buffer.from("value-0").toString("base64")}"`);
  assert.match(lines[2000], /^line 00000 [0-9a-f]{64}$/);
});

test("a map built with set in a loop pays for each entry once, not for the whole map each time", () => {
  const budget = new Budget({ steps: MAX_TEMPLATE_STEPS, millis: 60_000 });
  const text =
    "{{ $d := dict }}{{ range $i := until 20000 }}{{ $_ := set $d (toString $i) $i }}{{ end }}{{ len $d }}";
  assert.equal(runIn("t", text, budget), "20000");
  assert.ok(budget.stepsUsed() < MAX_TEMPLATE_STEPS / 2, `${budget.stepsUsed()} steps`);
});
