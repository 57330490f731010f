#!/usr/bin/env bash
# Run the test suite, one environment at a time.
#
#   scripts/test.sh                          # every env in ENVS
#   scripts/test.sh hf torchtune             # only these envs
#   scripts/test.sh core -- -k settings -x   # extra pytest arguments after `--`
#
# For each env: scripts/env.sh NAME (build/update .venvs/NAME; a no-op when unchanged), then
# .venvs/NAME/bin/python -m pytest on that env's selection below. Paths that do not exist
# (yet) are left out; an env with nothing left to run is skipped. A failing env does not stop
# the others. The last line printed is `N passed, N failed, N skipped` (summed over all envs;
# errors count as failed); the exit status is non-zero if anything failed, errored, or an env
# could not be built. pytest's exit code 5 (no tests collected) is not a failure.

# --- what runs where --------------------------------------------------------------------
ENVS=(core hf llamafactory torchtune ui analysis import lighteval)
declare -A SELECTION=(
    [core]="tests --ignore=tests/integrations --ignore=tests/env_smoke --ignore=tests/importers"
    [hf]="tests/integrations/hf tests/integrations/accelerate tests/system/test_torchrun.py tests/system/test_sigterm_collective.py tests/system/test_multihost.py tests/system/test_gpu_real.py tests/env_smoke/test_hf_smoke.py"
    [llamafactory]="tests/integrations/llamafactory tests/integrations/accelerate tests/env_smoke/test_llamafactory_smoke.py"
    [torchtune]="tests/integrations/torchtune tests/env_smoke/test_torchtune_smoke.py"
    [ui]="tests/commands tests/ui tests/store/test_reading.py tests/alerts/test_ui_watch.py"
    [analysis]="tests/store/test_frames.py tests/store/test_frames_extra.py tests/integrations/optuna tests/integrations/hf/test_hp_search.py"
    [import]="tests/importers"
    [lighteval]="tests/integrations/lighteval"
)
# what an env needs beyond its venv, installed before its tests (a bash command line)
declare -A SETUP=(
    [core]="bash scripts/postgres.sh --optional"
    [hf]="bash scripts/multihost.sh --optional"
    [ui]="bash scripts/install_browser.sh && bash scripts/postgres.sh --optional"
    [analysis]="bash scripts/postgres.sh --optional"
    [import]="bash scripts/postgres.sh --optional"
    [lighteval]="bash scripts/postgres.sh --optional"
)
# per-test time limit (pytest-timeout), so a hung subprocess cannot eat the CI budget
TEST_TIMEOUT="${TEST_TIMEOUT:-600}"
# -----------------------------------------------------------------------------------------

set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

selected=()
pytest_extra=()
while (($#)); do
    if [[ "$1" == "--" ]]; then
        shift
        pytest_extra=("$@")
        break
    fi
    if [[ -z "${SELECTION[$1]+x}" ]]; then
        echo "test.sh: unknown env '$1' (known: ${ENVS[*]})" >&2
        exit 2
    fi
    selected+=("$1")
    shift
done
((${#selected[@]})) || selected=("${ENVS[@]}")

TMP_ROOT="$(mktemp -d "${TMPDIR:-/tmp}/tracker-tests.XXXXXX")"
trap 'rm -rf "$TMP_ROOT"' EXIT
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
export TOKENIZERS_PARALLELISM=false
export HF_HOME="$TMP_ROOT/hf-home"       # no cache from outside leaks in
export TRACKER_DIR="$TMP_ROOT/tracker"
unset TRACKER_URI

total_passed=0 total_failed=0 total_skipped=0
report=()

# junit xml -> "passed failed skipped"
count_junit() {
    python3 - "$1" <<'PYEOF'
import sys
import xml.etree.ElementTree as ET

try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print("0 0 0")
    raise SystemExit
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
tests = failed = skipped = 0
for s in suites:
    tests += int(s.get("tests", 0))
    failed += int(s.get("failures", 0)) + int(s.get("errors", 0))
    skipped += int(s.get("skipped", 0))
print(tests - failed - skipped, failed, skipped)
PYEOF
}

for name in "${selected[@]}"; do
    read -r -a spec <<<"${SELECTION[$name]}"
    args=()
    have_path=0
    for item in "${spec[@]}"; do
        if [[ "$item" == --* ]]; then
            args+=("$item")
        elif [[ -e "$item" ]]; then
            args+=("$item")
            have_path=1
        fi
    done
    if ((have_path == 0)); then
        echo "=== $name: nothing to run (none of: ${SELECTION[$name]})"
        report+=("$name: skipped (no tests)")
        continue
    fi

    echo "=== $name: environment"
    t0=$SECONDS
    mkdir -p .venvs
    build_log=".venvs/$name.build.log"
    if ! bash scripts/env.sh "$name" >"$build_log" 2>&1; then
        tail -n 40 "$build_log"
        echo "=== $name: FAILED to build the environment (log: $build_log)"
        total_failed=$((total_failed + 1))
        report+=("$name: environment build failed")
        continue
    fi
    tail -n 1 "$build_log"
    if [[ -n "${SETUP[$name]+x}" ]] && ! bash -c "${SETUP[$name]}"; then
        echo "=== $name: FAILED to set up (${SETUP[$name]})"
        total_failed=$((total_failed + 1))
        report+=("$name: setup failed")
        continue
    fi
    echo "=== $name: pytest ${args[*]} (env ready in $((SECONDS - t0))s)"

    t1=$SECONDS
    junit="$TMP_ROOT/junit-$name.xml"
    # in CI, pytest runs as it would in the background of a shell (`nohup ... &`): SIGINT
    # ignored, which its children inherit; a test that stops a child with SIGINT must give
    # it the default disposition (tests/workers.py: default_sigint)
    (
        [[ -z "${CI:-}" ]] || trap '' INT
        exec ".venvs/$name/bin/python" -m pytest "${args[@]}" --junitxml="$junit" \
            -p no:cacheprovider --timeout="$TEST_TIMEOUT" "${pytest_extra[@]}"
    )
    rc=$?
    read -r p f s < <(count_junit "$junit")
    if ((rc != 0 && rc != 1 && rc != 5 && f == 0)); then
        f=1  # interrupted / internal error / usage error: not a pass
    fi
    total_passed=$((total_passed + p))
    total_failed=$((total_failed + f))
    total_skipped=$((total_skipped + s))
    report+=("$name: $p passed, $f failed, $s skipped in $((SECONDS - t1))s (pytest exit $rc)")
done

echo "=== summary"
for line in "${report[@]}"; do
    echo "  $line"
done
echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
((total_failed == 0))
