import { readFileSync } from "node:fs";

for (const f of process.argv.slice(2))
  for (const l of readFileSync(f, "utf8").trim().split("\n")) {
    const o = JSON.parse(l);
    const s = o.smaps;
    const f1 = (x) => x.toFixed(1);
    console.log(
      [
        f.split("/").pop(),
        o.tag,
        "rss",
        f1(o.rss),
        "hwm",
        f1(o.hwm),
        "exe",
        f1(s.exe),
        "anon",
        f1(s.Anonymous),
        "heapUsed",
        f1(o.heapUsed),
        "heapTotal",
        f1(o.heapTotal),
        "code",
        f1(o.spaces.code_space),
        "old",
        f1(o.spaces.old_space),
        "lo",
        f1(o.spaces.large_object_space),
        "ext",
        f1(o.external),
        "ab",
        f1(o.arrayBuffers),
        "malloc",
        f1(o.mallocedMemory),
      ].join(" "),
    );
  }
