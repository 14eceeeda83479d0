#!/usr/bin/env bash
#= The walkthrough (seed.txt, in Korean) as a script: its commands in order, as written, run in
#= the playground (`bin/vso demo` plays it on a fresh one; docs/quickstart.md shows how to type
#= them yourself). The manifests it applies are in this directory, copied from the same text.
#=
#= A line the playground cannot run as written is replaced in a block:
#=   #- the walkthrough's line (one or more)
#=   #? why (one or more)
#=   the replacement
#=   #.
#= A block without "#-" lines adds what a reader does between two commands (mostly: wait for
#= the operator). "#=" lines are notes. Nothing else differs from seed.txt; the unit test
#= test/unit/walkthrough-seed.test.ts checks that.
#? a script stops at the first failing command, shows each command before running it (and with
#? WALKTHROUGH_PAUSE=1 waits for Enter first), reads the manifests from this directory, and stops
#? the port-forward it starts at the end
set -eo pipefail
cd "$(dirname "$0")"
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
trap 'printf "\n$ %s\n" "$BASH_COMMAND"; [ -z "$WALKTHROUGH_PAUSE" ] || { printf "(Enter) " >/dev/tty; read -r _ </dev/tty; }' DEBUG
#.

# Helm 저장소 추가 (이미 있다면 생략)
#- helm repo add hashicorp https://helm.releases.hashicorp.com
#? no network: the playground serves this repository's chart as `hashicorp` from its own chart
#? repository (already added, so helm only says so)
helm repo add hashicorp http://10.200.0.1:8879
#.
helm repo update

# VSO 설치
helm install vault-secrets-operator hashicorp/vault-secrets-operator \
  --namespace vault-secrets-operator-system \
  --create-namespace

# 설치 확인
kubectl get pods -n vault-secrets-operator-system
#? the operator's Pod takes a few seconds to start
kubectl rollout status deployment/vault-secrets-operator-controller-manager -n vault-secrets-operator-system --timeout=180s
#.

# 최신 릴리스 다운로드
#- kubectl apply -f https://github.com/hashicorp/vault-secrets-operator/releases/latest/download/vault-secrets-operator.yaml
#? no network: the release's one-manifest install is deploy/install.yaml in this repository
#? (applied over the Helm install above, it changes nothing that runs; kubectl's warning that
#? Helm, not kubectl apply, created each object is left out)
kubectl apply -f ../../deploy/install.yaml 2> >(grep -v 'missing the kubectl.kubernetes.io/last-applied-configuration' >&2)
#.

# 설치 확인
kubectl get deployment -n vault-secrets-operator-system

kubectl apply -f examples/vault-connection.yaml

kubectl apply -f examples/vault-auth.yaml

kubectl apply -f examples/static-secret-example.yaml

# 생성된 Kubernetes Secret 확인
#? the operator syncs the Secret a moment after the apply
kubectl wait --for=create secret/myapp-database --timeout=120s
#.
kubectl get secret myapp-database -o yaml

#? example 2 has no command in the walkthrough; it is applied from the file
#? examples/static-secret-fields.yaml, and its Secret holds only the included keys
kubectl apply -f examples/static-secret-fields.yaml
kubectl wait --for=create secret/api-keys --timeout=120s
kubectl get secret api-keys -o go-template='{{range $k, $v := .data}}{{$k}}{{"\n"}}{{end}}'
#.

# Vault Pod에 접속
#- kubectl exec -n vault -it vault-0 -- sh
#? a script has no terminal: the commands below go to vault-0's shell on its standard input
#? (-e: it stops at the first failing one)
kubectl exec -n vault -i vault-0 -- sh -e <<'VAULT'
#.

# Database Secret Engine 활성화
vault secrets enable database

# PostgreSQL 연결 설정
#- vault write database/config/my-postgres \
#-   plugin_name=postgresql-database-plugin \
#-   allowed_roles="myapp-db-role" \
#-   connection_url="postgresql://:@postgres.default.svc.cluster.local:5432/mydb?sslmode=disable" \
#-   username="vaultadmin" \
#-   password="vaultpassword"
#? the walkthrough's text lost Vault's template markers in connection_url: {{username}} and
#? {{password}} are restored (the rest of the command is unchanged)
vault write database/config/my-postgres \
  plugin_name=postgresql-database-plugin \
  allowed_roles="myapp-db-role" \
  connection_url="postgresql://{{username}}:{{password}}@postgres.default.svc.cluster.local:5432/mydb?sslmode=disable" \
  username="vaultadmin" \
  password="vaultpassword"
#.

# Role 생성 (동적 자격 증명 정의)
#- vault write database/roles/myapp-db-role \
#-   db_name=my-postgres \
#-   creation_statements="CREATE ROLE \"\" WITH LOGIN PASSWORD '' VALID UNTIL ''; \
#-     GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO \"\";" \
#-   default_ttl="1h" \
#-   max_ttl="24h"
#? the walkthrough's text lost Vault's template markers in creation_statements: {{name}},
#? {{password}} and {{expiration}} are restored (the rest of the command is unchanged)
vault write database/roles/myapp-db-role \
  db_name=my-postgres \
  creation_statements="CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; \
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO \"{{name}}\";" \
  default_ttl="1h" \
  max_ttl="24h"
#.

# 정책 생성
vault policy write myapp-db-policy - <<EOF
path "database/creds/myapp-db-role" {
  capabilities = ["read"]
}
EOF

# Kubernetes Role 업데이트
vault write auth/kubernetes/role/myapp-role \
  bound_service_account_names=myapp-sa \
  bound_service_account_namespaces=default \
  policies=myapp-policy,myapp-db-policy \
  ttl=24h
#? the end of what is typed in vault-0's shell
VAULT
#.

kubectl apply -f examples/dynamic-secret-example.yaml

# 생성된 Secret 확인
#? the operator creates the Secret a moment after the apply
kubectl wait --for=create secret/myapp-db-dynamic --timeout=120s
#.
kubectl get secret myapp-db-dynamic -o jsonpath='{.data.username}' | base64 -d
kubectl get secret myapp-db-dynamic -o jsonpath='{.data.password}' | base64 -d

# VaultDynamicSecret 상태 확인
kubectl describe vaultdynamicsecret myapp-db-creds

# Lease 정보 확인
kubectl get vaultdynamicsecret myapp-db-creds -o jsonpath='{.status.secretLease}'

# Secret 자동 갱신 모니터링
#- kubectl get secret myapp-db-dynamic -w
#? -w watches until interrupted: the script watches for 5 seconds
timeout 5 kubectl get secret myapp-db-dynamic -w || [ $? -eq 124 ]
#.

#- kubectl apply -f postgres-deployment.yaml
#? the playground's PostgreSQL already runs as this manifest sets it up (database mydb, superuser
#? vaultadmin from init.sql) and the Service postgres reaches it; there is no postgres:15 image
#? without a registry
kubectl get service postgres
#.

kubectl apply -f examples/vault-connection.yaml
kubectl apply -f examples/vault-auth.yaml
kubectl apply -f examples/dynamic-secret-example.yaml

kubectl apply -f myapp-deployment.yaml

# 로그에서 데이터베이스 연결 확인
#- kubectl logs -f deployment/myapp
#? -f follows the log until interrupted: the script waits for the first query's answer and shows
#? the log once
kubectl rollout status deployment/myapp --timeout=180s
timeout 120 sh -c 'until kubectl logs deployment/myapp | grep -q "PostgreSQL 15"; do sleep 2; done'
kubectl logs deployment/myapp
#.

# 현재 username 확인
kubectl get secret myapp-db-dynamic -o jsonpath='{.data.username}' | base64 -d

# 1시간 후 (또는 설정한 renewalPercent 시점) username이 변경되는지 확인
# VSO가 자동으로 Secret을 갱신하고 Pod를 재시작합니다
#? an hour is long for a script: a change of the VaultDynamicSecret's spec makes the operator
#? issue new credentials now, as it does when the lease reaches its max TTL, and restart myapp
#? (rolloutRestartTargets); the new Pod logs in with the new username
old_pod=$(kubectl get pods -l app=myapp -o jsonpath='{.items[0].metadata.name}')
kubectl patch vaultdynamicsecret myapp-db-creds --type=merge -p '{"spec":{"renewalPercent":66}}'
timeout 180 sh -c "until kubectl get pods -l app=myapp -o name | grep -qv $old_pod; do sleep 2; done"
kubectl rollout status deployment/myapp --timeout=180s
kubectl get secret myapp-db-dynamic -o jsonpath='{.data.username}' | base64 -d
new_pod=$(kubectl get pods -l app=myapp -o name | grep -v "$old_pod")
timeout 120 sh -c "until kubectl logs $new_pod | grep -q 'PostgreSQL 15'; do sleep 2; done"
kubectl logs "$new_pod"
kubectl get pods -l app=myapp
#.

# VSO Operator 로그 확인
kubectl logs -n vault-secrets-operator-system deployment/vault-secrets-operator-controller-manager

# VaultConnection 상태 확인
kubectl describe vaultconnection default

# VaultAuth 상태 확인
kubectl describe vaultauth default

# VaultStaticSecret 또는 VaultDynamicSecret 상태 확인
kubectl describe vaultstaticsecret myapp-database-secret

# ServiceAccount 확인
kubectl get serviceaccount myapp-sa

# Vault에서 Role 확인
kubectl exec -n vault vault-0 -- vault read auth/kubernetes/role/myapp-role

# Policy 확인
kubectl exec -n vault vault-0 -- vault policy read myapp-policy

# Lease 정보 확인
kubectl get vaultdynamicsecret myapp-db-creds -o yaml

# Vault에서 Lease 확인
kubectl exec -n vault vault-0 -- vault list sys/leases/lookup/database/creds/myapp-db-role

# Prometheus 메트릭 확인
#- kubectl port-forward -n vault-secrets-operator-system svc/vault-secrets-operator-controller-manager-metrics-service 8443:8443
#? port-forward runs until interrupted: the script runs it in the background until it ends
kubectl port-forward -n vault-secrets-operator-system svc/vault-secrets-operator-controller-manager-metrics-service 8443:8443 &
timeout 30 sh -c 'until curl -s -o /dev/null -k https://localhost:8443/metrics; do sleep 1; done'
#.
curl -k https://localhost:8443/metrics
#? the endpoint answers only a caller whose token may `get` /metrics, so the line above is refused
#? (Unauthorized), as VSO's is; with a service account bound to the chart's metrics-reader role:
kubectl create serviceaccount metrics-reader -n vault-secrets-operator-system
kubectl create clusterrolebinding metrics-reader --clusterrole=vault-secrets-operator-metrics-reader --serviceaccount=vault-secrets-operator-system:metrics-reader
curl -sk -H "Authorization: Bearer $(kubectl create token metrics-reader -n vault-secrets-operator-system)" https://localhost:8443/metrics | grep '^vso_'
#.
