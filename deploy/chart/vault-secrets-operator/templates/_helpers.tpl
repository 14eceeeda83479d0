{{/*
Names and labels. With the release name "vault-secrets-operator" the full name is just
"vault-secrets-operator", so the Deployment is "vault-secrets-operator-controller-manager" as in
VSO's chart and the walkthrough.
*/}}

{{- define "vso.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vso.fullname" -}}
{{- if contains (include "vso.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "vso.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* "<fullname>-<suffix>", cut to the 63 characters of a label value. Call with (list $ "suffix"). */}}
{{- define "vso.prefixed" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "vso.fullname" $root) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vso.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vso.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "vso.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "vso.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels that select the operator Pods. */}}
{{- define "vso.podSelectorLabels" -}}
control-plane: controller-manager
{{ include "vso.selectorLabels" . }}
{{- end -}}

{{- define "vso.serviceAccountName" -}}
{{- include "vso.prefixed" (list . "controller-manager") -}}
{{- end -}}

{{- define "vso.image" -}}
{{- $img := .Values.controller.manager.image -}}
{{- printf "%s:%s" $img.repository (default .Chart.AppVersion $img.tag) -}}
{{- end -}}

{{/* The imagePullSecrets list (entries given as names or as {name: ...}); empty when none. */}}
{{- define "vso.imagePullSecrets" -}}
{{- range .Values.controller.imagePullSecrets }}
{{- if kindIs "string" . }}
- name: {{ . | quote }}
{{- else }}
- name: {{ .name | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* True ("true") when a flag is already given in controller.manager.extraArgs; extraArgs win. */}}
{{- define "vso.inExtraArgs" -}}
{{- $flag := index . 1 -}}
{{- range (index . 0).Values.controller.manager.extraArgs -}}
{{- if eq (regexReplaceAll "=.*$" (trimPrefix "-" (trimPrefix "-" .)) "") $flag -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{/* The `vso run` flags derived from the values, one per line. */}}
{{- define "vso.managerArgs" -}}
{{- $m := .Values.controller.manager -}}
{{- $args := list "run" "--health-probe-bind-address=:8081" "--metrics-bind-address=:8443" "--metrics-secure" "--leader-elect" -}}
{{- with $m.clientCache.persistenceModel -}}
{{- $args = append $args (printf "--client-cache-persistence-model=%s" .) -}}
{{- end -}}
{{- if not (kindIs "invalid" $m.clientCache.cacheSize) -}}
{{- $args = append $args (printf "--client-cache-size=%d" (int64 $m.clientCache.cacheSize)) -}}
{{- end -}}
{{- if not (kindIs "invalid" $m.clientCache.numLocks) -}}
{{- $args = append $args (printf "--client-cache-num-locks=%d" (int64 $m.clientCache.numLocks)) -}}
{{- end -}}
{{- if not (kindIs "invalid" $m.maxConcurrentReconciles) -}}
{{- $args = append $args (printf "--max-concurrent-reconciles=%d" (int64 $m.maxConcurrentReconciles)) -}}
{{- end -}}
{{- if $m.globalTransformationOptions.excludeRaw -}}
{{- $args = append $args "--global-transformation-options=exclude-raw" -}}
{{- end -}}
{{- $args = append $args (printf "--global-vault-auth-options=%s" (ternary "allow-default-globals" "" $m.globalVaultAuthOptions.allowDefaultGlobals)) -}}
{{- with $m.backoffOnSecretSourceError -}}
{{- with .initialInterval }}{{ $args = append $args (printf "--backoff-initial-interval=%s" .) }}{{ end -}}
{{- with .maxInterval }}{{ $args = append $args (printf "--backoff-max-interval=%s" .) }}{{ end -}}
{{- with .maxElapsedTime }}{{ $args = append $args (printf "--backoff-max-elapsed-time=%s" .) }}{{ end -}}
{{- if not (kindIs "invalid" .randomizationFactor) }}{{ $args = append $args (printf "--backoff-randomization-factor=%s" (toString .randomizationFactor)) }}{{ end -}}
{{- if not (kindIs "invalid" .multiplier) }}{{ $args = append $args (printf "--backoff-multiplier=%s" (toString .multiplier)) }}{{ end -}}
{{- end -}}
{{- if not (kindIs "invalid" $m.kubeClient.qps) -}}
{{- $args = append $args (printf "--kube-client-qps=%s" (toString $m.kubeClient.qps)) -}}
{{- end -}}
{{- if not (kindIs "invalid" $m.kubeClient.burst) -}}
{{- $args = append $args (printf "--kube-client-burst=%d" (int64 $m.kubeClient.burst)) -}}
{{- end -}}
{{- with $m.logging -}}
{{- if and .level (not (include "vso.inExtraArgs" (list $ "zap-log-level"))) }}{{ $args = append $args (printf "--zap-log-level=%s" .level) }}{{ end -}}
{{- if and .timeEncoding (not (include "vso.inExtraArgs" (list $ "zap-time-encoding"))) }}{{ $args = append $args (printf "--zap-time-encoding=%s" .timeEncoding) }}{{ end -}}
{{- if and .stacktraceLevel (not (include "vso.inExtraArgs" (list $ "zap-stacktrace-level"))) }}{{ $args = append $args (printf "--zap-stacktrace-level=%s" .stacktraceLevel) }}{{ end -}}
{{- end -}}
{{- with $m.tenantGuards -}}
{{- with .vaultAddresses }}{{ $args = append $args (printf "--tenant-vault-addresses=%s" (join "," .)) }}{{ end -}}
{{- with .tokenAudiences }}{{ $args = append $args (printf "--tenant-token-audiences=%s" (join "," .)) }}{{ end -}}
{{- with .tokenMaxExpirationSeconds }}{{ $args = append $args (printf "--tenant-token-max-expiration-seconds=%d" (int64 .)) }}{{ end -}}
{{- end -}}
{{- if $.Values.telemetry.serviceMonitor.tlsSecret -}}
{{- $args = append $args "--metrics-cert-dir=/metrics-certs" -}}
{{- end -}}
{{- range $m.extraArgs -}}
{{- $args = append $args . -}}
{{- end -}}
{{- toYaml $args -}}
{{- end -}}

{{/*
The auth-method part of a VaultAuth spec (kubernetes, jwt or appRole) from a values block
shaped like defaultAuthMethod. Call with (list $block $defaultServiceAccount).
*/}}
{{- define "vso.authMethodSpec" -}}
{{- $cur := index . 0 -}}
{{- $defaultSA := index . 1 -}}
method: {{ $cur.method }}
mount: {{ $cur.mount | quote }}
{{- with $cur.namespace }}
namespace: {{ . | quote }}
{{- end }}
{{- if eq $cur.method "kubernetes" }}
kubernetes:
  role: {{ $cur.kubernetes.role | quote }}
  serviceAccount: {{ default $defaultSA $cur.kubernetes.serviceAccount | quote }}
  {{- with $cur.kubernetes.tokenAudiences }}
  audiences: {{ toJson . }}
  {{- end }}
{{- else if eq $cur.method "jwt" }}
jwt:
  role: {{ $cur.jwt.role | quote }}
  {{- if $cur.jwt.secretRef }}
  secretRef: {{ $cur.jwt.secretRef | quote }}
  {{- else }}
  serviceAccount: {{ default $defaultSA $cur.jwt.serviceAccount | quote }}
  {{- with $cur.jwt.tokenAudiences }}
  audiences: {{ toJson . }}
  {{- end }}
  {{- end }}
{{- else if eq $cur.method "appRole" }}
appRole:
  roleId: {{ $cur.appRole.roleId | quote }}
  secretRef: {{ $cur.appRole.secretRef | quote }}
{{- end }}
{{- with $cur.params }}
params:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $cur.headers }}
headers:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The secrets.hashicorp.com kinds: plural, and whether the kind has a status the operator writes. */}}
{{- define "vso.kinds" -}}
VaultConnection: vaultconnections
VaultAuth: vaultauths
VaultAuthGlobal: vaultauthglobals
VaultStaticSecret: vaultstaticsecrets
VaultDynamicSecret: vaultdynamicsecrets
VaultPKISecret: vaultpkisecrets
SecretTransformation: secrettransformations
HCPAuth: hcpauths
HCPVaultSecretsApp: hcpvaultsecretsapps
CSISecrets: csisecrets
{{- end -}}
