#!/usr/bin/env bash
# Mutation testing of machines/ and src/driver/ piece by piece (docs/mutation.md): one Stryker
# run per group of files, each with its own report and incremental file under
# reports/mutation/, then the score per file and over all (scripts/mutation-score.mjs).
#   bash scripts/mutate.sh                 # every group
#   bash scripts/mutate.sh machines/fan-out.ts machines/step-heap.ts   # these groups only
set -euo pipefail
cd "$(dirname "$0")/.."

groups=("$@")
if [ ${#groups[@]} -eq 0 ]; then
  groups=(
    'src/driver/*.ts'
    'machines/filesystem.machine.ts'
    'machines/attempt.machine.ts,machines/fan-out.ts,machines/step-heap.ts,machines/healing.ts,machines/shared.ts,machines/calls.logic.ts,machines/stepQueue.logic.ts,machines/timed.ts,machines/scheduler.ts,machines/contract.ts,machines/types.ts'
    'machines/run.machine.ts,machines/job.machine.ts,machines/daemon.machine.ts'
  )
fi

mkdir -p reports/mutation
for group in "${groups[@]}"; do
  echo "== mutate ${group} ($(date -u +%H:%M:%S))"
  start=$(date +%s)
  MUTATE="$group" npx stryker run stryker.config.mjs
  echo "== ${group}: $(( $(date +%s) - start )) s"
done
node scripts/mutation-score.mjs reports/mutation/*.json
