#!/usr/bin/env bash
# moto's ECS tests, unmodified, in server mode against `ecs-operator api` (issue #16).
# Usage: tests/conformance/run-moto.sh ENDPOINT NAMESPACE [pytest args]
#   ENDPOINT   the API's URL (http://127.0.0.1:8443); NAMESPACE: the namespace of the access
#   key FOOBARKEY/FOOBARSECRET (moto's own credentials) that the API knows. The operator must
#   run. kubectl (on PATH, KUBECONFIG set) empties NAMESPACE before each test.
# moto's sdist (pinned) and a virtualenv for it go to ${ECS_API_MOTO_DIR:-~/.cache/ecs-operator/moto}.
set -euo pipefail
endpoint=$1 namespace=$2; shift 2
here=$(cd "$(dirname "$0")" && pwd)
dir=${ECS_API_MOTO_DIR:-$HOME/.cache/ecs-operator/moto}
version=5.2.1
if [[ ! -d "$dir/moto-$version/tests/test_ecs" ]]; then
  mkdir -p "$dir"
  python3 -m venv "$dir/venv"
  "$dir/venv/bin/pip" install -q "moto==$version" boto3 pytest
  "$dir/venv/bin/pip" download -q "moto==$version" --no-binary :all: --no-deps -d "$dir"
  tar xzf "$dir/moto-$version.tar.gz" -C "$dir" "moto-$version/tests/__init__.py" \
    "moto-$version/tests/conftest.py" "moto-$version/tests/test_ecs"
fi
mapfile -t tests < <(grep -E '^(A|B|D) ' "$here/moto-tiers.txt" | cut -c3- | sed -E 's/ *#.*//')
cd "$dir/moto-$version"
PYTHONPATH="$here" ECS_API_NAMESPACE="$namespace" MOTO_CALL_RESET_API=false \
  TEST_SERVER_MODE=true TEST_SERVER_MODE_ENDPOINT="$endpoint" \
  "$dir/venv/bin/pytest" -p moto_reset -p no:cacheprovider -q "${tests[@]}" "$@"
