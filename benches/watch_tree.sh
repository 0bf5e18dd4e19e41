#!/usr/bin/env bash
# Measures devenv's file watch on a big tree: 100,000 files, half of them in node_modules,
# built once under /tmp. Prints time to ready, CPU, inotify watches (read back from the
# kernel), RSS and CPU while idle.
#
#   benches/watch_tree.sh [TREE_DIR [APP_FILES NODE_FILES]]
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet --release --example watch_tree -- "$@"
