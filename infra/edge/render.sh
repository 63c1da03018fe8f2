#!/bin/sh
# Prints nginx.conf for one environment. Only the ${EDGE_*} placeholders are substituted (an
# explicit envsubst list): nginx's own variables ($host, $remote_addr, …) must pass through.
# Refuses to render with any placeholder unset or empty, rather than write `listen ;`.
set -eu
conf="$(dirname "$0")/nginx.conf"
# shellcheck disable=SC2016 # the single quotes are deliberate: these match literal ${EDGE_...} text.
names=$(grep -o '\${EDGE_[A-Z0-9_]*}' "$conf" | sort -u | tr -d '${}')
missing=""
for name in $names; do
  eval "value=\${$name:-}"
  [ -n "$value" ] || missing="$missing $name"
done
if [ -n "$missing" ]; then
  echo "render.sh: not set:$missing" >&2
  exit 1
fi
# envsubst's list is literal ${NAME} text, and $names is split on purpose: one entry per name.
# shellcheck disable=SC2016,SC2086
envsubst "$(printf '${%s} ' $names)" < "$conf"
