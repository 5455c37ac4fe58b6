#!/usr/bin/env bash
# Mutation testing of machines/ and src/driver/ (docs/mutation.md), in two passes:
#   1. every mutant against the quick rule tests of its component (MUTATION_TESTS=rules: the
#      driver and its charts, test/driver; MUTATION_TESTS=jobs: the job and daemon charts, the
#      jobs' tests), one Stryker run per group of files, reports under reports/mutation/<tests>/;
#   2. the lines where a mutant survived pass 1, against every suite (MUTATION_TESTS=all);
# then the score per file and over all (scripts/mutation-score.mjs: a mutant's last verdict).
#   bash scripts/mutate.sh                              # both passes over both folders
#   bash scripts/mutate.sh --first-only                 # pass 1 only
#   bash scripts/mutate.sh rules:machines/fan-out.ts    # both passes over these groups only
set -euo pipefail
cd "$(dirname "$0")/.."

second_pass=1
groups=()
for arg in "$@"; do
  if [ "$arg" = --first-only ]; then second_pass=0; else groups+=("$arg"); fi
done
if [ ${#groups[@]} -eq 0 ]; then
  groups=(
    'rules:src/driver/*.ts'
    'rules:machines/filesystem.machine.ts'
    'rules:machines/attempt.machine.ts,machines/run.machine.ts'
    'rules:machines/fan-out.ts,machines/step-heap.ts,machines/healing.ts,machines/shared.ts,machines/calls.logic.ts,machines/stepQueue.logic.ts,machines/timed.ts,machines/scheduler.ts,machines/contract.ts,machines/types.ts'
    'jobs:machines/job.machine.ts,machines/daemon.machine.ts'
  )
fi

run() { # tests selection report-name
  echo "== ${1}: ${2:0:120} ($(date -u +%H:%M:%S))"
  local start
  start=$(date +%s)
  MUTATION_TESTS="$1" MUTATE="$2" MUTATION_REPORT="$3" npx stryker run stryker.config.mjs
  echo "== ${1}: $(($(date +%s) - start)) s"
}

first_reports=()
for group in "${groups[@]}"; do
  tests=${group%%:*}
  files=${group#*:}
  report=$(echo "$files" | sed -e 's/\.ts//g' -e 's/[^A-Za-z0-9]\+/-/g')
  mkdir -p "reports/mutation/${tests}"
  run "$tests" "$files" "$report"
  first_reports+=("reports/mutation/${tests}/${report}.json")
done

all_reports=()
if [ "$second_pass" = 1 ]; then
  ranges=$(node scripts/mutation-score.mjs --survivor-lines "${first_reports[@]}")
  if [ -n "$ranges" ]; then
    mkdir -p reports/mutation/all
    run all "$ranges" survivors
    all_reports+=(reports/mutation/all/survivors.json)
  fi
fi
node scripts/mutation-score.mjs "${first_reports[@]}" "${all_reports[@]}"
