// Shared structs of spec §1.1 and the pieces every kind uses (conditions,
// printer columns, the duration pattern).
import {
  arr,
  bool,
  type CelRule,
  enumOf,
  int64,
  map,
  obj,
  req,
  type SchemaNode,
  type StringNode,
  str,
} from "./dsl.ts";

export const GROUP = "secrets.hashicorp.com";
export const VERSION = "v1beta1";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Spec §1 "DUR": a number with an s, m or h suffix, e.g. `30s`, `1.5h`. */
export const DUR = "^([0-9]+(\\.[0-9]+)?(s|m|h))$";
/** The PKI `ttl` field also accepts days. */
export const DUR_WITH_DAYS = "^([0-9]+(\\.[0-9]+)?(s|m|h|d))$";

export function duration(description: string, opts: { default?: string } = {}): SchemaNode {
  return str(description, { pattern: DUR, ...opts });
}

// --- Vault paths -------------------------------------------------------------
// Fields that become part of a Vault request URL. A '.' or '..' segment would
// leave the mount (or the whole path prefix), and '?' or '#' would end the path
// and start a query string or fragment. The Vault client checks again when it
// builds a URL (src/vault/path.ts); these rules refuse such values at apply.

const VAULT_PATH_RULES: CelRule[] = [
  { rule: "!self.matches('(^|/)[.][.]?(/|$)')", message: "must not contain '.' or '..' path segments" },
  { rule: "!self.matches('[?#[:cntrl:]]')", message: "must not contain '?', '#' or control characters" },
];

/** A Vault path of one or more segments (a mount, a secret path). */
export function vaultPath(description: string, opts: { minLength?: number } = {}): StringNode {
  return str(description, { maxLength: 1024, ...opts, rules: VAULT_PATH_RULES });
}

/** One segment of a Vault path (a role, an issuer, a key name): a path without '/'. */
export function vaultPathSegment(description: string, opts: { minLength?: number } = {}): StringNode {
  return str(description, {
    maxLength: 512,
    ...opts,
    rules: [...VAULT_PATH_RULES, { rule: "!self.contains('/')", message: "must not contain '/'" }],
  });
}

/** Auth methods of VaultAuth.method and VaultAuthGlobal.defaultAuthMethod. */
export const AUTH_METHODS = ["kubernetes", "jwt", "appRole", "aws", "gcp"] as const;

// --- printer columns -------------------------------------------------------

export interface PrinterColumn {
  name: string;
  type: "string" | "date" | "integer" | "boolean" | "number";
  jsonPath: string;
  description?: string;
}

function conditionColumn(name: string, type: string): PrinterColumn {
  return { name, type: "string", jsonPath: `.status.conditions[?(@.type == "${type}")].status` };
}

export const COL_SYNCED = conditionColumn("Synced", "SecretSynced");
export const COL_HEALTHY = conditionColumn("Healthy", "Healthy");
export const COL_READY = conditionColumn("Ready", "Ready");
export const COL_AGE: PrinterColumn = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" };

// --- status ----------------------------------------------------------------

/** The standard metav1.Condition shape. */
export const Condition = obj(
  {
    type: req(
      str("Type of the condition, e.g. SecretSynced, Healthy or Ready.", {
        maxLength: 316,
        pattern:
          "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
      }),
    ),
    status: req(enumOf(["True", "False", "Unknown"], "Status of the condition.")),
    observedGeneration: int64("The .metadata.generation the condition was set for.", { minimum: 0 }),
    lastTransitionTime: req(str("Last time the condition's status changed.", { format: "date-time" })),
    reason: req(
      str("Machine-readable CamelCase reason for the last transition.", {
        minLength: 1,
        maxLength: 1024,
        pattern: "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
      }),
    ),
    message: req(str("Human-readable details; may be empty.", { maxLength: 32768 })),
  },
  "A status condition (metav1.Condition).",
  { tsName: "Condition" },
);

export const conditions = arr(Condition, "Conditions, at most one per type.", {
  listType: "map",
  listMapKeys: ["type"],
});

export const VaultClientMeta = obj(
  {
    cacheKey: str("Client-cache key of the Vault client that was used."),
    id: str("Hash of the Vault token accessor (never the token itself)."),
  },
  "The Vault client used for the last sync.",
  { tsName: "VaultClientMeta" },
);

// --- destination and transformation (§1.1) ---------------------------------

export const Template = obj(
  {
    name: str("Template name; when empty the internal name is <namespace>/<object>/<key>."),
    text: req(str("Go text/template source.")),
  },
  "A template rendered into one Secret data key.",
  { tsName: "Template" },
);

export const TemplateRef = obj(
  {
    name: req(str("Key of the template in the SecretTransformation's spec.templates.")),
    keyOverride: str("Secret data key of the output; defaults to the template name."),
  },
  "Selects one template of a SecretTransformation.",
  { tsName: "TemplateRef" },
);

export const TransformationRef = obj(
  {
    namespace: str("Namespace of the SecretTransformation; defaults to the resource's namespace."),
    name: req(str("Name of the SecretTransformation.")),
    templateRefs: arr(TemplateRef, "Templates to render; all of them when empty."),
    ignoreIncludes: bool("Ignore the SecretTransformation's includes."),
    ignoreExcludes: bool("Ignore the SecretTransformation's excludes."),
  },
  "Pulls templates and filters from a SecretTransformation.",
  { tsName: "TransformationRef" },
);

export const Transformation = obj(
  {
    templates: map(
      Template,
      "Templates keyed by the Secret data key they render. They win over raw keys and over referenced templates.",
    ),
    transformationRefs: arr(TransformationRef, "SecretTransformations to pull templates and filters from."),
    includes: arr(
      str(),
      "RE2 regular expressions selecting top-level source keys; applied after excludes, never to templated keys.",
    ),
    excludes: arr(
      str(),
      'RE2 regular expressions of top-level source keys to drop; ".*" drops all raw fields.',
    ),
    excludeRaw: bool("Do not write the _raw key."),
  },
  "Templating and filtering of the Secret data.",
  { tsName: "Transformation" },
);

export const Destination = obj(
  {
    name: req(str("Name of the Secret, in the resource's own namespace.", { minLength: 1 })),
    create: bool("Create the Secret and own its whole lifecycle (ownerReference and owner labels).", {
      default: false,
    }),
    overwrite: bool("With create: take over an existing Secret that has no owner labels.", {
      default: false,
    }),
    labels: map(str(), "Labels of the Secret (create only); owner labels win on conflict."),
    annotations: map(str(), "Annotations of the Secret (create only)."),
    type: str(
      "Secret type (create only); Opaque when empty. A change of type deletes and recreates the Secret.",
    ),
    transformation: Transformation,
  },
  "The Kubernetes Secret the data is written to.",
  { tsName: "Destination" },
);

export const RolloutRestartTarget = obj(
  {
    kind: req(enumOf(["Deployment", "DaemonSet", "StatefulSet", "argo.Rollout"], "Workload kind.")),
    name: req(str("Workload name, in the resource's own namespace.")),
  },
  "A workload restarted when the Secret data changes.",
  { tsName: "RolloutRestartTarget" },
);

export const rolloutRestartTargets = arr(
  RolloutRestartTarget,
  "Workloads to restart when the data changes (never on the first sync).",
);

export const allowedNamespaces = arr(
  str(),
  'Kubernetes namespaces whose resources may reference this object; ["*"] allows all. Unset: only its own namespace.',
);
