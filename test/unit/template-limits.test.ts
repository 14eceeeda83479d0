// A template cannot allocate without bound (issue 10, defect 3): output and
// function results stop at 1 MiB with an error naming the limit.
import assert from "node:assert/strict";
import { test } from "node:test";
import { render } from "../../src/template/index.ts";
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
