#!/usr/bin/env bash
# Mutation testing of machines/ and src/driver/ (docs/mutation.md), in two passes:
#   1. every mutant against the quick rule tests (MUTATION_TESTS=rules), one Stryker run per
#      group of files, each with its own report under reports/mutation/rules/;
#   2. the lines where a mutant survived pass 1, against every suite (MUTATION_TESTS=all);
# then the score per file and over all (scripts/mutation-score.mjs: a mutant's last verdict).
#   bash scripts/mutate.sh                      # both passes over both folders
#   bash scripts/mutate.sh --rules-only         # pass 1 only
#   bash scripts/mutate.sh machines/fan-out.ts  # both passes over these files only
set -euo pipefail
cd "$(dirname "$0")/.."

second_pass=1
groups=()
for arg in "$@"; do
  if [ "$arg" = --rules-only ]; then second_pass=0; else groups+=("$arg"); fi
done
if [ ${#groups[@]} -eq 0 ]; then
  groups=(
    'src/driver/*.ts'
    'machines/filesystem.machine.ts'
    'machines/attempt.machine.ts,machines/fan-out.ts,machines/step-heap.ts,machines/healing.ts,machines/shared.ts,machines/calls.logic.ts,machines/stepQueue.logic.ts,machines/timed.ts,machines/scheduler.ts,machines/contract.ts,machines/types.ts'
    'machines/run.machine.ts,machines/job.machine.ts,machines/daemon.machine.ts'
  )
fi

run() { # tests selection report-name
  echo "== ${1}: ${2:0:120} ($(date -u +%H:%M:%S))"
  local start
  start=$(date +%s)
  MUTATION_TESTS="$1" MUTATE="$2" MUTATION_REPORT="$3" npx stryker run stryker.config.mjs
  echo "== ${1}: $(($(date +%s) - start)) s"
}

mkdir -p reports/mutation/rules reports/mutation/all
rules_reports=()
for group in "${groups[@]}"; do
  report=$(echo "$group" | sed -e 's/\.ts//g' -e 's/[^A-Za-z0-9]\+/-/g')
  run rules "$group" "$report"
  rules_reports+=("reports/mutation/rules/${report}.json")
done

all_reports=()
if [ "$second_pass" = 1 ]; then
  ranges=$(node scripts/mutation-score.mjs --survivor-lines "${rules_reports[@]}")
  if [ -n "$ranges" ]; then
    run all "$ranges" survivors
    all_reports+=(reports/mutation/all/survivors.json)
  fi
fi
node scripts/mutation-score.mjs "${rules_reports[@]}" "${all_reports[@]}"
