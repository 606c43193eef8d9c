#!/usr/bin/env bash
# scripts/plot-log turns a dlc train log into an SVG that parses as XML and holds the
# curves (one polyline per series with data).
#   plot_log.sh SOURCE_DIR
set -euo pipefail
src=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/log.csv" <<'CSV'
kind,epoch,step,loss,lr,test_loss,test_acc,time_s
step,1,1,2.30412269,0.001,,,0.134
step,1,2,2.1,0.001,,,0.2
epoch,1,2,2.2,0.001,1.9,40.5,0.3
step,2,3,1.5,0.001,,,0.4
step,2,4,1.2,0.001,,,0.5
epoch,2,4,1.35,0.001,1.1,70.25,0.6
CSV
"$src/scripts/plot-log" "$work/log.csv" "$work/out.svg" --title=test
python3 - "$work/out.svg" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
lines = [e for e in root.iter() if e.tag.endswith("polyline")]
paths = [e for e in root.iter() if e.tag.endswith("path")]  # matplotlib draws paths
assert len(lines) == 4 or len(paths) >= 4, f"expected 4 curves, got {len(lines)} polylines, {len(paths)} paths"
print("PASS: plot-log wrote a well-formed SVG with the curves")
PY
