// A template cannot allocate without bound (issue 10, defect 3): output and
// function results stop at 1 MiB with an error naming the limit.
import assert from "node:assert/strict";
import { test } from "node:test";
import { render } from "../../src/template/index.ts";
import { MAX_TEMPLATE_OUTPUT_BYTES } from "../../src/template/limits.ts";

const run = (text: string) => render([{ name: "t", text }], new Map());

for (const [what, text] of [
  ["repeat 50000000", '{{ repeat 50000000 "x" }}'],
  ["until 100000000", "{{ range until 100000000 }}{{ end }}"],
  ["indent 50000000", '{{ indent 50000000 "x" }}'],
  ["many small writes", "{{ range until 1000000 }}xx{{ end }}"],
  ["text repeated by range", "{{ range until 600000 }}ab{{ end }}"],
] as const) {
  test(`${what} fails with the limit instead of allocating`, () => {
    const t0 = Date.now();
    assert.throws(() => run(text), /limit of 1048576/);
    assert.ok(Date.now() - t0 < 5000, "fails fast");
  });
}

test("output up to the limit is fine, multi-byte characters counted as bytes", () => {
  assert.equal(run(`{{ repeat ${MAX_TEMPLATE_OUTPUT_BYTES} "x" }}`).length, MAX_TEMPLATE_OUTPUT_BYTES);
  // 3 bytes each in UTF-8: 400 000 of them are 1 200 000 bytes.
  assert.throws(() => run("{{ range until 400000 }}한{{ end }}"), /limit of 1048576/);
  assert.equal(run("{{ range until 1000 }}한{{ end }}").length, 1000);
});
