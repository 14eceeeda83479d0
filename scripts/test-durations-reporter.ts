// A node:test reporter that writes one JSON line per finished top-level test
// (its file and duration). scripts/run-tests.ts sums them per file to start
// the slowest files first next time and to print where the suite's time goes.
import type { TestEvent } from "node:test/reporters";

export default async function* durations(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  for await (const ev of source) {
    if (ev.type !== "test:pass" && ev.type !== "test:fail") continue;
    if (ev.data.nesting !== 0 || !ev.data.file) continue;
    yield `${JSON.stringify({ file: ev.data.file, ms: ev.data.details.duration_ms })}\n`;
  }
}
