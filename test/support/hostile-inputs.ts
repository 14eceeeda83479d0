// Hostile and careless inputs for every served kind, each with the outcome it
// must have: refused by the API server at apply with a message naming the
// field, or accepted and reported by the operator in a condition (or
// status.error) naming the field. test/e2e/reliability-hostile.test.ts applies
// them all into one namespace next to a healthy resource that must keep syncing.
export type Kind =
  | "VaultConnection"
  | "VaultAuth"
  | "VaultAuthGlobal"
  | "VaultStaticSecret"
  | "VaultDynamicSecret"
  | "VaultPKISecret"
  | "SecretTransformation";

export interface HostileContext {
  ns: string;
  /** Address of the Vault the healthy resources use. */
  vaultAddress: string;
  /** A KV v2 path (under mount `secret`) the namespace's role may read. */
  kvPath: string;
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  [k: string]: unknown;
}

export type Outcome =
  /** The API server refuses the object (422); the message matches `field`. */
  | { at: "apply"; field: RegExp }
  /**
   * Accepted; a False condition's message (or status.error) of `observe` (default: the object) matches
   * `field`. Vault's own refusals (403, 404) are reported with the Vault path the spec resolved to.
   */
  | { at: "status"; field: RegExp; observe?: { kind: Kind; name: string } };

export interface HostileInput {
  /** Unique, also the name of the hostile object. */
  id: string;
  kind: Kind;
  what: string;
  object: (c: HostileContext) => Manifest;
  /** Objects created first (a VaultAuthGlobal the VaultAuth refers to, a foreign Secret, ...). */
  companions?: (c: HostileContext) => { kind: Kind | "Secret"; object: Manifest }[];
  expect: Outcome;
}

const API = "secrets.hashicorp.com/v1beta1";

const manifest = (kind: Kind, name: string, spec: Record<string, unknown>): Manifest => ({
  apiVersion: API,
  kind,
  metadata: { name },
  spec,
});

const conn = (id: string, spec: Record<string, unknown>) => (c: HostileContext) =>
  manifest("VaultConnection", id, { address: c.vaultAddress, ...spec });
const auth = (id: string, spec: Record<string, unknown>) => () =>
  manifest("VaultAuth", id, {
    method: "kubernetes",
    mount: "kubernetes",
    kubernetes: { role: "r", serviceAccount: "app" },
    ...spec,
  });
const global = (id: string, spec: Record<string, unknown>) => () =>
  manifest("VaultAuthGlobal", id, { defaultAuthMethod: "kubernetes", ...spec });
const vss = (id: string, spec: Record<string, unknown>) => (c: HostileContext) =>
  manifest("VaultStaticSecret", id, {
    mount: "secret",
    type: "kv-v2",
    path: c.kvPath,
    destination: { name: id, create: true },
    ...spec,
  });
const vds = (id: string, spec: Record<string, unknown>) => () =>
  manifest("VaultDynamicSecret", id, {
    mount: "database",
    path: "creds/nonexistent",
    destination: { name: id, create: true },
    ...spec,
  });
const pki = (id: string, spec: Record<string, unknown>) => () =>
  manifest("VaultPKISecret", id, {
    mount: "pki",
    role: "default",
    commonName: "app.example.com",
    destination: { name: id, create: true },
    ...spec,
  });
const transformation = (id: string, spec: Record<string, unknown>) => () =>
  manifest("SecretTransformation", id, spec);
const withTemplate = (text: string) => ({ transformation: { templates: { out: { text } } } });

const apply = (field: RegExp): Outcome => ({ at: "apply", field });
const status = (field: RegExp, observe?: { kind: Kind; name: string }): Outcome => ({
  at: "status",
  field,
  observe,
});

/** `id` for the entry, with `make(id)` building its object. */
function entry(
  id: string,
  kind: Kind,
  what: string,
  make: (id: string) => (c: HostileContext) => Manifest,
  expect: Outcome,
  companions?: HostileInput["companions"],
): HostileInput {
  return { id, kind, what, object: make(id), expect, companions };
}

export const HOSTILE_INPUTS: HostileInput[] = [
  // --- VaultConnection -------------------------------------------------------
  entry(
    "vc-empty-address",
    "VaultConnection",
    "empty address",
    (id) => conn(id, { address: "" }),
    apply(/spec\.address/),
  ),
  entry(
    "vc-no-address",
    "VaultConnection",
    "address missing",
    (id) => () => manifest("VaultConnection", id, { skipTLSVerify: false }),
    apply(/spec\.address/),
  ),
  entry(
    "vc-ns-header",
    "VaultConnection",
    "X-Vault-Namespace header",
    (id) => conn(id, { headers: { "x-VAULT-namespace": "root" } }),
    apply(/spec\.headers/),
  ),
  entry(
    "vc-two-cas",
    "VaultConnection",
    "caCertSecretRef and caCertPath together",
    (id) => conn(id, { caCertSecretRef: "ca", caCertPath: "/etc/ca.crt" }),
    apply(/caCertSecretRef|caCertPath/),
  ),
  entry(
    "vc-timeout-word",
    "VaultConnection",
    "timeout not a duration",
    (id) => conn(id, { timeout: "forever" }),
    apply(/spec\.timeout/),
  ),
  entry(
    "vc-skip-string",
    "VaultConnection",
    "skipTLSVerify as a string",
    (id) => conn(id, { skipTLSVerify: "yes" }),
    apply(/spec\.skipTLSVerify/),
  ),
  entry(
    "vc-not-url",
    "VaultConnection",
    "address not a URL",
    (id) => conn(id, { address: "vault:::8200" }),
    status(/spec\.address/),
  ),
  entry(
    "vc-ftp",
    "VaultConnection",
    "address with an ftp scheme",
    (id) => conn(id, { address: "ftp://vault:21" }),
    status(/spec\.address/),
  ),
  entry(
    "vc-ca-missing",
    "VaultConnection",
    "caCertSecretRef to a missing Secret",
    (id) => conn(id, { caCertSecretRef: "no-such-ca" }),
    status(/spec\.caCertSecretRef/),
  ),
  entry(
    "vc-ca-no-key",
    "VaultConnection",
    "caCertSecretRef to a Secret without ca.crt",
    (id) => conn(id, { caCertSecretRef: "ca-without-key" }),
    status(/spec\.caCertSecretRef/),
    () => [
      {
        kind: "Secret",
        object: {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: "ca-without-key" },
          stringData: { other: "x" },
        },
      },
    ],
  ),
  entry(
    "vc-ca-path-missing",
    "VaultConnection",
    "caCertPath to a file that does not exist (outside the operator's --vault-ca-cert-dir)",
    (id) => conn(id, { caCertPath: "/nonexistent/ca.crt" }),
    status(/spec\.caCertPath/),
  ),

  // --- VaultAuth -----------------------------------------------------------
  entry(
    "va-method",
    "VaultAuth",
    "unknown method",
    (id) => auth(id, { method: "magic" }),
    apply(/spec\.method/),
  ),
  entry(
    "va-mount-dots",
    "VaultAuth",
    "mount leaving its path with '..'",
    (id) => auth(id, { mount: "kubernetes/../userpass" }),
    apply(/spec\.mount/),
  ),
  entry(
    "va-mount-query",
    "VaultAuth",
    "mount with '?'",
    (id) => auth(id, { mount: "kubernetes?x=1" }),
    apply(/spec\.mount/),
  ),
  entry(
    "va-token-ttl",
    "VaultAuth",
    "tokenExpirationSeconds below the minimum",
    (id) => auth(id, { kubernetes: { role: "r", serviceAccount: "app", tokenExpirationSeconds: 10 } }),
    apply(/spec\.kubernetes\.tokenExpirationSeconds/),
  ),
  entry(
    "va-approle-two",
    "VaultAuth",
    "appRole secretIDPath naming the operator's own ServiceAccount token (removed in VSO 1.5.0)",
    (id) =>
      auth(id, {
        method: "appRole",
        kubernetes: undefined,
        appRole: { roleId: "x", secretIDPath: "/var/run/secrets/kubernetes.io/serviceaccount/token" },
      }),
    apply(/secretIDPath is not supported/),
  ),
  entry(
    "va-approle-relative",
    "VaultAuth",
    "appRole secretIDPath beside secretRef",
    (id) =>
      auth(id, {
        method: "appRole",
        kubernetes: undefined,
        appRole: { roleId: "x", secretRef: "s", secretIDPath: "../etc/shadow" },
      }),
    apply(/secretIDPath is not supported/),
  ),
  entry(
    "va-jwt-two",
    "VaultAuth",
    "jwt secretRef and serviceAccount together",
    (id) =>
      auth(id, {
        method: "jwt",
        kubernetes: undefined,
        jwt: { role: "r", secretRef: "s", serviceAccount: "app" },
      }),
    apply(/secretRef|serviceAccount/),
  ),
  entry(
    "va-transit-key-slash",
    "VaultAuth",
    "storageEncryption keyName with '/'",
    (id) => auth(id, { storageEncryption: { mount: "transit", keyName: "a/b" } }),
    apply(/spec\.storageEncryption\.keyName/),
  ),
  entry(
    "va-global-name",
    "VaultAuth",
    "vaultAuthGlobalRef name not a DNS name",
    (id) => auth(id, { vaultAuthGlobalRef: { name: "Not_A_Name" } }),
    apply(/spec\.vaultAuthGlobalRef\.name/),
  ),
  entry(
    "va-no-role",
    "VaultAuth",
    "kubernetes without a role",
    (id) => auth(id, { kubernetes: { serviceAccount: "app" } }),
    status(/spec\.kubernetes\.role/),
  ),
  entry(
    "va-no-block",
    "VaultAuth",
    "method jwt without a jwt block",
    (id) => auth(id, { method: "jwt", kubernetes: undefined }),
    status(/spec\.jwt/),
  ),
  entry(
    "va-global-missing",
    "VaultAuth",
    "vaultAuthGlobalRef to a missing VaultAuthGlobal",
    (id) => auth(id, { vaultAuthGlobalRef: { name: "no-such-global" } }),
    status(/spec\.vaultAuthGlobalRef/),
  ),
  entry(
    "va-connection-missing",
    "VaultAuth",
    "vaultConnectionRef to a missing VaultConnection",
    (id) => auth(id, { vaultConnectionRef: "no-such-connection" }),
    status(/spec\.vaultConnectionRef/),
  ),

  // --- VaultAuthGlobal -------------------------------------------------------
  entry(
    "vag-method",
    "VaultAuthGlobal",
    "unknown defaultAuthMethod",
    (id) => global(id, { defaultAuthMethod: "magic" }),
    apply(/spec\.defaultAuthMethod/),
  ),
  entry(
    "vag-mount-dots",
    "VaultAuthGlobal",
    "defaultMount with '..'",
    (id) => global(id, { defaultMount: "../sys" }),
    apply(/spec\.defaultMount/),
  ),
  entry(
    "vag-token-ttl",
    "VaultAuthGlobal",
    "kubernetes tokenExpirationSeconds below the minimum",
    (id) => global(id, { kubernetes: { tokenExpirationSeconds: 1 } }),
    apply(/spec\.kubernetes\.tokenExpirationSeconds/),
  ),
  entry(
    "vag-approle-two",
    "VaultAuthGlobal",
    "appRole secretIDPath (removed in VSO 1.5.0)",
    (id) => global(id, { appRole: { secretRef: "s", secretIDPath: "/x" } }),
    apply(/secretIDPath is not supported/),
  ),
  entry(
    "vag-no-role",
    "VaultAuthGlobal",
    "a global without a role, inherited by a VaultAuth without one",
    (id) => global(id, { kubernetes: { serviceAccount: "app" } }),
    status(/spec\.kubernetes\.role/, { kind: "VaultAuth", name: "vag-no-role-user" }),
    () => [
      {
        kind: "VaultAuth",
        object: manifest("VaultAuth", "vag-no-role-user", {
          vaultAuthGlobalRef: { name: "vag-no-role" },
          method: "kubernetes",
          mount: "kubernetes",
          kubernetes: { serviceAccount: "app" },
        }),
      },
    ],
  ),

  // --- VaultStaticSecret -----------------------------------------------------
  entry(
    "vss-type",
    "VaultStaticSecret",
    "type kv-v3",
    (id) => vss(id, { type: "kv-v3" }),
    apply(/spec\.type/),
  ),
  entry(
    "vss-path-dots",
    "VaultStaticSecret",
    "path leaving the mount with '..'",
    (id) => vss(id, { path: "../../sys/mounts" }),
    apply(/spec\.path/),
  ),
  entry(
    "vss-path-query",
    "VaultStaticSecret",
    "path with '?'",
    (id) => vss(id, { path: "app?version=1" }),
    apply(/spec\.path/),
  ),
  entry(
    "vss-path-fragment",
    "VaultStaticSecret",
    "path with '#'",
    (id) => vss(id, { path: "app#x" }),
    apply(/spec\.path/),
  ),
  entry(
    "vss-path-newline",
    "VaultStaticSecret",
    "path with a control character",
    (id) => vss(id, { path: "app\nx" }),
    apply(/spec\.path/),
  ),
  entry(
    "vss-mount-dots",
    "VaultStaticSecret",
    "mount ending in '..'",
    (id) => vss(id, { mount: "secret/.." }),
    apply(/spec\.mount/),
  ),
  entry(
    "vss-refresh",
    "VaultStaticSecret",
    "refreshAfter not a duration",
    (id) => vss(id, { refreshAfter: "soon" }),
    apply(/spec\.refreshAfter/),
  ),
  entry(
    "vss-version",
    "VaultStaticSecret",
    "negative version",
    (id) => vss(id, { version: -1 }),
    apply(/spec\.version/),
  ),
  entry(
    "vss-dest-empty",
    "VaultStaticSecret",
    "empty destination name",
    (id) => vss(id, { destination: { name: "", create: true } }),
    apply(/spec\.destination\.name/),
  ),
  entry(
    "vss-no-dest",
    "VaultStaticSecret",
    "destination missing",
    (id) => (c) => {
      const m = vss(id, {})(c);
      delete (m.spec as Record<string, unknown>).destination;
      return m;
    },
    apply(/spec\.destination/),
  ),
  entry(
    "vss-restart-kind",
    "VaultStaticSecret",
    "rolloutRestartTargets kind Pod",
    (id) => vss(id, { rolloutRestartTargets: [{ kind: "Pod", name: "x" }] }),
    apply(/spec\.rolloutRestartTargets\[0\]\.kind/),
  ),
  entry(
    "vss-template-no-text",
    "VaultStaticSecret",
    "template without text",
    (id) => vss(id, { destination: { name: id, create: true, transformation: { templates: { out: {} } } } }),
    apply(/spec\.destination\.transformation\.templates\[out\]\.text|text/),
  ),
  entry(
    "vss-bad-name",
    "VaultStaticSecret",
    "destination name the API server refuses",
    (id) => vss(id, { destination: { name: "Bad_Name", create: true } }),
    status(/spec\.destination/),
  ),
  entry(
    "vss-bad-label",
    "VaultStaticSecret",
    "destination label key the API server refuses",
    (id) => vss(id, { destination: { name: id, create: true, labels: { "not a key": "x" } } }),
    status(/spec\.destination/),
  ),
  entry(
    "vss-tls-type",
    "VaultStaticSecret",
    "destination type kubernetes.io/tls without tls.crt",
    (id) => vss(id, { destination: { name: id, create: true, type: "kubernetes.io/tls" } }),
    status(/spec\.destination/),
  ),
  entry(
    "vss-not-owned",
    "VaultStaticSecret",
    "destination owned by someone else, overwrite false",
    (id) => vss(id, { destination: { name: "foreign", create: true } }),
    status(/spec\.destination\.overwrite/),
    () => [
      {
        kind: "Secret",
        object: {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: "foreign" },
          stringData: { keep: "me" },
        },
      },
    ],
  ),
  entry(
    "vss-template-parse",
    "VaultStaticSecret",
    "template that does not parse",
    (id) => vss(id, { destination: { name: id, create: true, ...withTemplate("{{ .Secrets.password ") } }),
    status(/spec\.destination\.transformation\.templates/),
  ),
  entry(
    "vss-template-func",
    "VaultStaticSecret",
    "template calling an unknown function",
    (id) => vss(id, { destination: { name: id, create: true, ...withTemplate("{{ exec .Secrets.v }}") } }),
    status(/spec\.destination\.transformation\.templates/),
  ),
  entry(
    "vss-template-fail",
    "VaultStaticSecret",
    "template failing on the data (fail)",
    (id) => vss(id, { destination: { name: id, create: true, ...withTemplate('{{ fail "no" }}') } }),
    status(/spec\.destination\.transformation\.templates/),
  ),
  entry(
    "vss-template-huge",
    "VaultStaticSecret",
    "template output of 50 MB",
    (id) =>
      vss(id, { destination: { name: id, create: true, ...withTemplate('{{ repeat 50000000 "x" }}') } }),
    status(/spec\.destination\.transformation\.templates/),
  ),
  entry(
    "vss-template-recursion",
    "VaultStaticSecret",
    "template calling itself forever",
    (id) =>
      vss(id, {
        destination: {
          name: id,
          create: true,
          ...withTemplate('{{ define "loop" }}{{ template "loop" . }}{{ end }}{{ template "loop" . }}'),
        },
      }),
    status(/spec\.destination\.transformation\.templates/),
  ),
  entry(
    "vss-include-regex",
    "VaultStaticSecret",
    "includes with an invalid regular expression",
    (id) => vss(id, { destination: { name: id, create: true, transformation: { includes: ["(unclosed"] } } }),
    status(/spec\.destination\.transformation\.includes/),
  ),
  entry(
    "vss-exclude-regex",
    "VaultStaticSecret",
    "excludes with a look-ahead (not RE2)",
    (id) => vss(id, { destination: { name: id, create: true, transformation: { excludes: ["(?=x)"] } } }),
    status(/spec\.destination\.transformation\.excludes/),
  ),
  entry(
    "vss-ref-missing",
    "VaultStaticSecret",
    "transformationRefs to a missing SecretTransformation",
    (id) =>
      vss(id, {
        destination: {
          name: id,
          create: true,
          transformation: { transformationRefs: [{ name: "no-such-st" }] },
        },
      }),
    status(/spec\.destination\.transformation\.transformationRefs/),
  ),
  entry(
    "vss-ref-invalid",
    "VaultStaticSecret",
    "transformationRefs to an invalid SecretTransformation",
    (id) =>
      vss(id, {
        destination: {
          name: id,
          create: true,
          transformation: { transformationRefs: [{ name: "st-template-parse" }] },
        },
      }),
    status(/spec\.destination\.transformation\.transformationRefs/),
  ),
  entry(
    "vss-auth-missing",
    "VaultStaticSecret",
    "vaultAuthRef to a missing VaultAuth",
    (id) => vss(id, { vaultAuthRef: "no-such-auth" }),
    status(/spec\.vaultAuthRef/),
  ),
  entry(
    "vss-kv-missing",
    "VaultStaticSecret",
    "KV secret that does not exist (reported with the Vault path)",
    (id) => (c) => vss(id, { path: `${c.kvPath}-missing` })(c),
    status(/Vault GET \/v1\/secret\/data\/[^ ]*app-missing returned 404/),
  ),

  // --- VaultDynamicSecret ----------------------------------------------------
  entry(
    "vds-path-dots",
    "VaultDynamicSecret",
    "path leaving the mount with '..'",
    (id) => vds(id, { path: "creds/../../sys/raw" }),
    apply(/spec\.path/),
  ),
  entry(
    "vds-mount-query",
    "VaultDynamicSecret",
    "mount with '?'",
    (id) => vds(id, { mount: "database?x" }),
    apply(/spec\.mount/),
  ),
  entry(
    "vds-method",
    "VaultDynamicSecret",
    "requestHTTPMethod DELETE",
    (id) => vds(id, { requestHTTPMethod: "DELETE" }),
    apply(/spec\.requestHTTPMethod/),
  ),
  entry(
    "vds-renewal",
    "VaultDynamicSecret",
    "renewalPercent 500",
    (id) => vds(id, { renewalPercent: 500 }),
    apply(/spec\.renewalPercent/),
  ),
  entry(
    "vds-refresh",
    "VaultDynamicSecret",
    "refreshAfter not a duration",
    (id) => vds(id, { refreshAfter: "1 fortnight" }),
    apply(/spec\.refreshAfter/),
  ),
  entry(
    "vds-bad-name",
    "VaultDynamicSecret",
    "destination name the API server refuses",
    (id) => vds(id, { destination: { name: "Bad_Name", create: true } }),
    status(/spec\.destination/),
  ),
  entry(
    "vds-template-parse",
    "VaultDynamicSecret",
    "template that does not parse",
    (id) => vds(id, { destination: { name: id, create: true, ...withTemplate("{{ end }}") } }),
    status(/spec\.destination\.transformation\.templates/),
  ),
  entry(
    "vds-role-missing",
    "VaultDynamicSecret",
    "path the token may not read (reported with the Vault path)",
    (id) => vds(id, { path: "creds/nonexistent" }),
    status(/Vault GET \/v1\/database\/creds\/nonexistent returned 403/),
  ),

  // --- VaultPKISecret --------------------------------------------------------
  entry(
    "pki-role-slash",
    "VaultPKISecret",
    "role with '/'",
    (id) => pki(id, { role: "default/../../x" }),
    apply(/spec\.role/),
  ),
  entry(
    "pki-issuer-dots",
    "VaultPKISecret",
    "issuerRef '..'",
    (id) => pki(id, { issuerRef: ".." }),
    apply(/spec\.issuerRef/),
  ),
  entry(
    "pki-ttl",
    "VaultPKISecret",
    "ttl not a duration",
    (id) => pki(id, { ttl: "forever" }),
    apply(/spec\.ttl/),
  ),
  entry(
    "pki-format",
    "VaultPKISecret",
    "format jks",
    (id) => pki(id, { format: "jks" }),
    apply(/spec\.format/),
  ),
  entry(
    "pki-key-format",
    "VaultPKISecret",
    "privateKeyFormat pem",
    (id) => pki(id, { privateKeyFormat: "pem" }),
    apply(/spec\.privateKeyFormat/),
  ),
  entry(
    "pki-not-after",
    "VaultPKISecret",
    "notAfter not a timestamp",
    (id) => pki(id, { notAfter: "tomorrow" }),
    apply(/spec\.notAfter/),
  ),
  entry(
    "pki-offset",
    "VaultPKISecret",
    "expiryOffset not a duration",
    (id) => pki(id, { expiryOffset: "-1h" }),
    apply(/spec\.expiryOffset/),
  ),
  entry(
    "pki-bad-name",
    "VaultPKISecret",
    "destination name the API server refuses",
    (id) => pki(id, { destination: { name: "Bad_Name", create: true } }),
    status(/spec\.destination/),
  ),
  entry(
    "pki-template-parse",
    "VaultPKISecret",
    "template that does not parse",
    (id) => pki(id, { destination: { name: id, create: true, ...withTemplate("{{ if }}") } }),
    status(/spec\.destination\.transformation\.templates/),
  ),
  entry(
    "pki-forbidden",
    "VaultPKISecret",
    "role the token may not issue from (reported with the Vault path)",
    (id) => pki(id, { role: "no-such-role" }),
    status(/Vault PUT \/v1\/pki\/issue\/no-such-role returned 403/),
  ),

  // --- SecretTransformation --------------------------------------------------
  entry(
    "st-no-text",
    "SecretTransformation",
    "template without text",
    (id) => transformation(id, { templates: { out: { name: "x" } } }),
    apply(/spec\.templates\[out\]\.text|spec\.templates\.out\.text|text/),
  ),
  entry(
    "st-includes-type",
    "SecretTransformation",
    "includes as a string",
    (id) => transformation(id, { includes: "everything" }),
    apply(/spec\.includes/),
  ),
  entry(
    "st-template-parse",
    "SecretTransformation",
    "template that does not parse",
    (id) => transformation(id, { templates: { out: { text: "{{ range }}" } } }),
    status(/spec\.templates/),
  ),
  entry(
    "st-source-parse",
    "SecretTransformation",
    "sourceTemplates entry that does not parse",
    (id) => transformation(id, { sourceTemplates: [{ name: "helpers", text: "{{ define }}" }] }),
    status(/spec\.(sourceTemplates|templates)/),
  ),
  entry(
    "st-includes-regex",
    "SecretTransformation",
    "includes with an invalid regular expression",
    (id) => transformation(id, { includes: ["[z-a]"] }),
    status(/spec\.includes/),
  ),
  entry(
    "st-excludes-regex",
    "SecretTransformation",
    "excludes with a back-reference (not RE2)",
    (id) => transformation(id, { excludes: ["(a)\\1"] }),
    status(/spec\.excludes/),
  ),
];
