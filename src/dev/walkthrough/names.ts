// Where the walkthrough's pieces live in the repository.
import { join } from "node:path";
import { REPO_ROOT } from "../paths.ts";

/** The chart the playground's `hashicorp` repository serves. */
export const CHART_DIR = join(REPO_ROOT, "deploy", "chart", "vault-secrets-operator");
/** The runner (walkthrough.sh), the manifests it applies and the walkthrough's text. */
export const WALKTHROUGH_DIR = join(REPO_ROOT, "docs", "walkthrough");
export const RUNNER_SCRIPT = join(WALKTHROUGH_DIR, "walkthrough.sh");
/** The walkthrough as given (Korean), copied from ../shared/seed/. */
export const SEED_TEXT = join(WALKTHROUGH_DIR, "seed.txt");
