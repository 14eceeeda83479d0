// What `vso doctor` reports: an ordered list of steps, each passed, failed,
// warned (checked as far as the doctor's own access allows) or skipped (an
// earlier step failed, or the step does not apply), with the exact fix for a
// failure. Rendered for people (✓/✗) or as JSON for scripts.

export type StepStatus = "pass" | "fail" | "warn" | "skip";

export interface Step {
  /** Stable identifier for scripts and tests, e.g. "vault-login". */
  id: string;
  /** What was checked, in a few words. */
  title: string;
  status: StepStatus;
  /** What was found (never a secret value). */
  detail: string;
  /** For a failure (or a warning): what to change, as precisely as the doctor can say it. */
  fix?: string;
}

export interface Report {
  /** "VaultStaticSecret app/db", or "operator" for the operator-wide checks. */
  target: string;
  steps: Step[];
}

export const pass = (id: string, title: string, detail: string): Step => ({
  id,
  title,
  status: "pass",
  detail,
});
export const fail = (id: string, title: string, detail: string, fix: string): Step => ({
  id,
  title,
  status: "fail",
  detail,
  fix,
});
export const warn = (id: string, title: string, detail: string, fix?: string): Step => ({
  id,
  title,
  status: "warn",
  detail,
  ...(fix ? { fix } : {}),
});
export const skip = (id: string, title: string, detail: string): Step => ({
  id,
  title,
  status: "skip",
  detail,
});

/** Exit code 0 only when no step failed. */
export function reportOk(report: Report): boolean {
  return report.steps.every((s) => s.status !== "fail");
}

const MARK: Record<StepStatus, string> = { pass: "✓", fail: "✗", warn: "!", skip: "-" };

function indent(text: string, prefix: string): string {
  return text
    .split("\n")
    .map((l) => prefix + l)
    .join("\n");
}

export function renderHuman(report: Report): string {
  const lines = [`vso doctor: ${report.target}`, ""];
  const width = Math.max(...report.steps.map((s) => s.title.length), 10);
  for (const s of report.steps) {
    lines.push(`${MARK[s.status]} ${s.title.padEnd(width)}  ${s.detail.split("\n")[0]}`);
    const rest = s.detail.split("\n").slice(1).join("\n");
    if (rest) lines.push(indent(rest, `  ${" ".repeat(width)}  `));
    if (s.fix && s.status !== "pass")
      lines.push(indent(s.fix, "    fix: ").replace(/\n {4}fix: /g, "\n         "));
  }
  const failed = report.steps.filter((s) => s.status === "fail").length;
  const warned = report.steps.filter((s) => s.status === "warn").length;
  lines.push("");
  lines.push(
    failed === 0
      ? `all ${report.steps.filter((s) => s.status === "pass").length} checks passed${warned ? ` (${warned} warning${warned > 1 ? "s" : ""})` : ""}`
      : `${failed} check${failed > 1 ? "s" : ""} failed`,
  );
  return lines.join("\n");
}

export function renderJson(report: Report): string {
  return JSON.stringify({ target: report.target, ok: reportOk(report), steps: report.steps }, null, 2);
}

/**
 * Runs one check; a check that throws becomes a step rather than ending the
 * walk: a warning when the doctor's own user may not look (403), else a failure.
 */
export async function guarded(
  id: string,
  title: string,
  check: () => Promise<Step | Step[] | undefined>,
): Promise<Step[]> {
  try {
    const r = await check();
    return r === undefined ? [] : Array.isArray(r) ? r : [r];
  } catch (err) {
    const status = (err as { status?: number }).status;
    const message = err instanceof Error ? err.message : String(err);
    if (status === 403) {
      return [
        warn(
          id,
          title,
          `not checked: your user may not read this (${message})`,
          "run the doctor as a user with read access to it",
        ),
      ];
    }
    return [
      fail(
        id,
        title,
        `the check failed: ${message}`,
        "see the error; the doctor could not complete this step",
      ),
    ];
  }
}
