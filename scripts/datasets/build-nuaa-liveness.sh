#!/usr/bin/env bash
# Rebuilds the NUAA liveness presentations (docs/face-datasets.md#liveness-presentations-faces-evaluate-liveness)
# from a bare git copy of imironica/liveness. Writes OUTSIDE the repository (never commit the frames):
#   $OUT/{real,print}/<presentation>/NN.jpg and $OUT/split/{tune,test}-{real,print} (hard links,
#   people 0001–0008 tune, 0009–0015 test).
# usage: build-nuaa-liveness.sh GIT_DIR [OUT]   (OUT defaults to /work/data/liveness/nuaa)
set -euo pipefail
GIT_DIR=${1:?usage: build-nuaa-liveness.sh GIT_DIR [OUT]}
OUT=${2:-/work/data/liveness/nuaa}
FRAMES=${FRAMES:-8} REAL_PER_SEQ=${REAL_PER_SEQ:-12} PRINT_PER_SEQ=${PRINT_PER_SEQ:-2}
build() { # $1 db folder, $2 kind, $3 presentations per sequence
  git --git-dir="$GIT_DIR" ls-tree -r --name-only HEAD "db/$1" | grep -E '_[0-9]+\.jpg$' |
    awk -F/ '{f=$NF; sub(/\.jpg$/,"",f); split(f,a,"_"); print a[1]"_"a[2]"_"a[3]"_"a[4], a[5], $0}' |
    sort -k1,1 -k2,2n |
    awk -v F="$FRAMES" -v K="$3" '
      function flush(   n, c, i, k, s, j) { n = cnt; c = int(n / F); if (c == 0) return
        k = c < K ? c : K
        for (i = 0; i < k; i++) { s = (k == 1) ? 0 : int(i * (c - 1) / (k - 1)); for (j = 0; j < F; j++) print seq "_c" s, j, path[s * F + j] } }
      $1 != seq { if (seq != "") flush(); seq = $1; cnt = 0 }
      { path[cnt++] = $3 }
      END { if (seq != "") flush() }' |
    while read -r pres j p; do
      d="$OUT/$2/$pres"; mkdir -p "$d"
      git --git-dir="$GIT_DIR" show "HEAD:$p" > "$d/$(printf '%02d' "$j").jpg"
    done
}
build ClientRaw real "$REAL_PER_SEQ"
build ImposterRaw print "$PRINT_PER_SEQ"
for k in real print; do
  mkdir -p "$OUT/split/tune-$k" "$OUT/split/test-$k"
  for d in "$OUT/$k"/*/; do
    n=$(basename "$d"); id=${n%%_*}
    if [ "$((10#$id))" -le 8 ]; then s=tune; else s=test; fi
    [ -e "$OUT/split/$s-$k/$n" ] || { mkdir -p "$OUT/split/$s-$k/$n"; ln "$d"/*.jpg "$OUT/split/$s-$k/$n/"; }
  done
done
echo "real $(ls "$OUT/real" | wc -l), print $(ls "$OUT/print" | wc -l) presentations"
