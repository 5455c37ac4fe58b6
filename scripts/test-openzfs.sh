#!/usr/bin/env bash
# npm run test:openzfs: the real-ZFS suites (every test file using describeZfs) against
# OpenZFS 2.1 in one QEMU guest (scripts/ozfs-vm.sh --with): jest runs on this host, in band,
# with zfs and zpool forwarded to the guest. Needs root and a done `scripts/ozfs-vm.sh --setup`.
#
#   scripts/test-openzfs.sh [JEST ARGS...]     e.g. -t 'resume' or a test file path
#
# Jest's JSON results go to $XREPL_OPENZFS_RESULTS when set (.ci/run adds them to its
# counts). Ends with the line `openzfs: N passed, N failed, N skipped`. Exit code: jest's, or
# 125 when the guest could not be started.
set -uo pipefail
cd "$(dirname "$0")/.."

results=${XREPL_OPENZFS_RESULTS:-}
own_results=0
if [ -z "$results" ]; then results=$(mktemp); own_results=1; fi

# Test files given on the command line win; else every real-ZFS suite.
args=("$@")
have_files=0
for a in "${args[@]}"; do [[ "$a" == *.test.ts ]] && have_files=1; done
if [ "$have_files" = 0 ]; then
  mapfile -t suites < <(grep -rl --include='*.test.ts' 'describeZfs(' test | sort)
  args+=("${suites[@]}")
fi

t0=$SECONDS
XREPL_ZFS_BACKEND=openzfs bash scripts/ozfs-vm.sh --with \
  npx jest --runInBand --detectOpenHandles --json --outputFile="$results" "${args[@]}"
status=$?
echo "openzfs: guest and suites took $((SECONDS - t0)) s"

if [ -s "$results" ]; then
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const failed = r.numFailedTests + (r.numRuntimeErrorTestSuites || 0);
    console.log(`openzfs: ${r.numPassedTests} passed, ${failed} failed, ${r.numPendingTests} skipped`);
  ' "$results"
else
  echo "openzfs: no results (exit $status)"
fi
[ "$own_results" = 1 ] && rm -f "$results"
exit "$status"
