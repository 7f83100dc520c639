#!/usr/bin/env bash
# Training people for scripts/projection-study.ts's external source (docs/face-studies.md, "A learned
# projection of the descriptor"): every LFW person with >= 2 photos in images_deepfunneled, minus
# every person of the LFW evaluation sets (lfw-eastasian, lfw-western-a, lfw-western-b, as built by
# build-face-sets.sh under FACES) and Chan_Gailey; the first CAP (10) photos of each in name order.
# Written OUTSIDE the repository (never commit the photos). usage: build-lfw-train.sh [OUT]
# (OUT defaults to /work/data/faces/lfw-train; FACES to /work/data/faces; MIRROR to /work/.mirror)
set -euo pipefail
FACES=${FACES:-/work/data/faces}
OUT=${1:-$FACES/lfw-train}
CAP=${CAP:-10}
LFW=${MIRROR:-/work/.mirror}/umass-vis-lfw+umass-vis-lfw.github.io/repo
if ! git --git-dir="$LFW" rev-parse -q --verify HEAD >/dev/null 2>&1; then
  echo "no LFW mirror at $LFW (a bare clone of umass-vis-lfw/umass-vis-lfw.github.io) / 找不到 LFW 仓库副本" >&2; exit 2
fi
for s in lfw-eastasian lfw-western-a lfw-western-b; do
  if [ ! -d "$FACES/$s" ]; then echo "$FACES/$s missing: run build-face-sets.sh first / 缺少 $FACES/$s，请先运行 build-face-sets.sh" >&2; exit 2; fi
done
T=$(mktemp -d)
git --git-dir="$LFW" ls-tree -r --name-only HEAD images_deepfunneled | grep -E '\.jpg$' | sort > "$T/all.txt"
awk -F/ '{print $2}' "$T/all.txt" | uniq -c | awk '$1>=2{print $2}' > "$T/people.txt"
{ for s in lfw-eastasian lfw-western-a lfw-western-b; do find "$FACES/$s" -mindepth 1 -maxdepth 1 -type d -printf '%f\n'; done; echo Chan_Gailey; } | sort -u > "$T/excluded.txt"
comm -23 "$T/people.txt" "$T/excluded.txt" > "$T/train.txt"
echo "LFW people with >= 2 photos: $(wc -l < "$T/people.txt"), excluded: $(wc -l < "$T/excluded.txt"), training: $(wc -l < "$T/train.txt")"
awk -F/ -v cap="$CAP" 'NR==FNR{keep[$1]=1; next} ($2 in keep) && (++n[$2] <= cap)' "$T/train.txt" "$T/all.txt" |
  while read -r f; do p=$(basename "$(dirname "$f")"); mkdir -p "$OUT/$p"; git --git-dir="$LFW" show "HEAD:$f" > "$OUT/$p/$(basename "$f")"; done
rm -r "$T"
echo "lfw-train $(find "$OUT" -mindepth 1 -maxdepth 1 -type d | wc -l) people $(find "$OUT" -type f | wc -l) photos"
