#!/bin/sh
# Prepares $SECRETS_DIR (default .dev/secrets) for docker compose:
#  1. the dev secrets `pnpm start` makes (runs its generator; needs `pnpm build` once);
#  2. the files only the compose deployment uses: pgbackrest_cipher_pass, grafana_admin_password,
#     the alert relay's tokens (alertmanager_page_webhook_token, alertmanager_ticket_webhook_token;
#     random placeholders: put your relay's real ones there), and a self-signed certificate for the
#     edge (edge_tls_certificate, edge_tls_certificate_key);
#  3. read access for the container users. Compose (outside swarm) bind-mounts secret files with
#     their host owner and mode (0600, yours), so each container's uid gets read access to exactly
#     the files it mounts, by ACL (setfacl, package `acl`): the files stay 0600 to everyone else.
# Never overwrites a secret. Run from anywhere: sh infra/docker/prepare-secrets.sh
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=${SECRETS_DIR:-$root/.dev/secrets}
umask 077
mkdir -p "$dir"

if [ -f "$root/packages/devstack/dist/index.js" ]; then
  node -e 'require(process.argv[1]).ensureDevSecrets(process.argv[2])' "$root/packages/devstack/dist/index.js" "$dir"
else
  echo "prepare-secrets: run \`pnpm build\` first (the dev secrets come from packages/devstack)" >&2
  exit 1
fi

one_line() { # name: a random single-line secret, if missing
  [ -f "$dir/$1" ] || openssl rand -base64 36 | tr -d '\n' >"$dir/$1"
}
one_line pgbackrest_cipher_pass
one_line grafana_admin_password
one_line alertmanager_page_webhook_token
one_line alertmanager_ticket_webhook_token
if [ ! -f "$dir/edge_tls_certificate" ] || [ ! -f "$dir/edge_tls_certificate_key" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$dir/edge_tls_certificate_key" -out "$dir/edge_tls_certificate" 2>/dev/null
fi

# uid → the files it mounts (docker-compose.yml `secrets:` per service).
grant() { # uid file...
  uid=$1
  shift
  for name in "$@"; do
    setfacl -m "u:$uid:r" "$dir/$name"
  done
}
if command -v setfacl >/dev/null 2>&1; then
  # gateway, auth, files, events, jobs, notes, db-bootstrap (uid 10001)
  grant 10001 cookie_keys token_keys_gateway_auth token_keys_gateway_notes google_client_secret \
    token_keys_gateway_files token_keys_jobs_files files_master_keys \
    token_keys_gateway_events token_keys_jobs_events token_keys_gateway_jobs \
    db_owner_password db_runtime_password pg_superuser_password
  # postgres, pgbackrest (uid 999)
  grant 999 pg_superuser_password pgbackrest_cipher_pass db_owner_password
  # edge (nginx, uid 101), grafana (uid 472), alertmanager (nobody, uid 65534)
  grant 101 edge_tls_certificate edge_tls_certificate_key
  grant 472 grafana_admin_password
  grant 65534 alertmanager_page_webhook_token alertmanager_ticket_webhook_token
  echo "prepare-secrets: $dir is ready for docker compose"
else
  echo "prepare-secrets: setfacl not found (apt-get install acl); the containers cannot read $dir" >&2
  exit 1
fi
