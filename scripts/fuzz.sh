#!/usr/bin/env bash
# Fuzzes one Jazzer target for a given time.
#
#   scripts/fuzz.sh <Class#method> <seconds>     e.g. scripts/fuzz.sh CodecFuzzTest#signedFragment 600
#   scripts/fuzz.sh --list                       lists the targets
#
# ./mvnw verify only replays each target's committed inputs (src/test/resources/.../<Class>Inputs/
# <method>/). This runs the one target in Jazzer's fuzzing mode: coverage-guided, with Jazzer's
# hooks on. What it learns goes to <module>/.cifuzz-corpus/ (not committed); a crashing input is
# written into the target's Inputs directory, where the next ./mvnw verify replays it, so fix the
# bug and commit the input as a regression. The last lines of the output give the executions.
set -euo pipefail
cd "$(dirname "$0")/.."

targets() {
  grep -rl --include='*FuzzTest.java' '@FuzzTest' */src/test/java | sort | while read -r f; do
    cls=$(basename "$f" .java)
    grep -A1 '@FuzzTest' "$f" | grep -oE 'void [A-Za-z0-9_]+' | sed "s/void /$cls#/"
  done
}

if [[ "${1:-}" == "--list" ]]; then
  targets
  exit 0
fi
if [[ $# -ne 2 || "$1" != *#* || ! "$2" =~ ^[0-9]+$ ]]; then
  echo "usage: $0 <FuzzTestClass#method> <seconds>   (or --list)" >&2
  exit 2
fi
target=$1
seconds=$2
cls=${target%%#*}
file=$(grep -rl --include="$cls.java" '@FuzzTest' */src/test/java | head -n 1 || true)
if [[ -z "$file" ]]; then
  echo "no fuzz test class $cls; $0 --list shows the targets" >&2
  exit 2
fi
module=${file%%/*}

# -o: build offline when the dependencies are already in the local repository.
offline=${MAVEN_OFFLINE:--o}
export JAZZER_FUZZ=1
export JAZZER_MAX_DURATION="${seconds}s"
exec ./mvnw $offline -pl "$module" -am test \
  -Dtest="$target" -Dsurefire.failIfNoSpecifiedTests=false \
  -Dmycelium.jazzer.hooks=true -Djacoco.skip=true -Denforcer.skip=true
