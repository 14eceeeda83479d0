// The walkthrough runner (docs/walkthrough/walkthrough.sh): reading its
// replacement blocks, comparing it with the walkthrough's text, and playing it
// in the playground with the real bash, kubectl, helm and curl.
//
// A block is `#-` lines (the walkthrough's lines it replaces; none for an
// addition), `#?` lines (why, required), the replacement, and `#.`. Lines
// starting with `#=` are notes. Every other line is the walkthrough's own.
import { spawn } from "node:child_process";
import { type DevState, envVars } from "../environment.ts";
import { RUNNER_SCRIPT } from "./names.ts";

export interface Replacement {
  /** 1-based line of the block's first line in the runner. */
  line: number;
  originals: string[];
  reason: string;
  replacement: string[];
}

export interface ParsedRunner {
  /** The walkthrough's lines as the runner has them, with each block's originals put back. */
  restored: string[];
  blocks: Replacement[];
}

export function parseRunner(text: string): ParsedRunner {
  const lines = text.split("\n");
  const restored: string[] = [];
  const blocks: Replacement[] = [];
  let block: Replacement | undefined;
  let phase: "originals" | "reason" | "replacement" = "originals";
  lines.forEach((raw, i) => {
    const line = raw.trimEnd();
    if (i === 0 && line.startsWith("#!")) return;
    if (line.startsWith("#=")) return;
    if (line.startsWith("#-")) {
      if (block && phase !== "originals") throw new Error(`line ${i + 1}: "#-" after the block's reason`);
      block ??= { line: i + 1, originals: [], reason: "", replacement: [] };
      block.originals.push(raw.slice(3));
      return;
    }
    if (line.startsWith("#?")) {
      if (block && phase === "replacement") throw new Error(`line ${i + 1}: "#?" inside a replacement`);
      block ??= { line: i + 1, originals: [], reason: "", replacement: [] };
      phase = "reason";
      block.reason = `${block.reason} ${line.slice(2).trim()}`.trim();
      return;
    }
    if (line === "#.") {
      if (!block?.reason) throw new Error(`line ${i + 1}: "#." without a block and its reason`);
      restored.push(...block.originals);
      blocks.push(block);
      block = undefined;
      phase = "originals";
      return;
    }
    if (block) {
      if (phase === "originals") throw new Error(`line ${block.line}: a block needs "#?" with its reason`);
      phase = "replacement";
      block.replacement.push(raw);
      return;
    }
    restored.push(raw);
  });
  if (block) throw new Error(`line ${block.line}: the block is not closed with "#."`);
  return { restored, blocks };
}

/** A command line of the walkthrough: what a reader types at the prompt. */
export function isCommandLine(line: string): boolean {
  return /^(kubectl|helm|vault|curl) /.test(line);
}

/**
 * What differs between the runner and the walkthrough besides its blocks:
 * restored lines that are not the walkthrough's lines in its order, and
 * walkthrough commands the runner leaves out. Blank lines do not count.
 */
export function differencesFromSeed(runner: string, seed: string): string[] {
  const { restored } = parseRunner(runner);
  const seedLines = seed.split("\n").map((l) => l.trimEnd());
  const problems: string[] = [];
  const covered = new Set<number>();
  let at = 0;
  for (const raw of restored) {
    const line = raw.trimEnd();
    if (line.trim() === "") continue;
    let j = at;
    while (j < seedLines.length && seedLines[j] !== line) j++;
    if (j === seedLines.length) {
      problems.push(`not in the walkthrough (after its line ${at}): ${line}`);
      continue;
    }
    covered.add(j);
    at = j + 1;
  }
  seedLines.forEach((l, j) => {
    if (isCommandLine(l) && !covered.has(j)) problems.push(`walkthrough line ${j + 1} is missing: ${l}`);
  });
  return problems;
}

/**
 * Plays the runner inside the environment (this process must already be in its
 * network namespace when it has a node): bash with the environment's variables,
 * each line of output handed to `out` as it comes. Resolves with the whole
 * transcript; rejects with its end when a command fails.
 */
export async function playWalkthrough(
  state: DevState,
  out: (line: string) => void,
  script = RUNNER_SCRIPT,
): Promise<string> {
  const child = spawn("bash", [script], {
    env: { ...process.env, ...envVars(state) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const transcript: string[] = [];
  let pending = "";
  const take = (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const l of lines) {
      transcript.push(l);
      out(l);
    }
  };
  child.stdout.on("data", take);
  child.stderr.on("data", take);
  const code = await new Promise<number>((resolve) =>
    child.on("close", (c, sig) => resolve(c ?? (sig ? 128 : 1))),
  );
  if (pending) {
    transcript.push(pending);
    out(pending);
  }
  const text = transcript.join("\n");
  if (code !== 0) {
    throw new Error(
      `the walkthrough stopped (exit ${code}); its last lines:\n${transcript.slice(-40).join("\n")}`,
    );
  }
  return text;
}
