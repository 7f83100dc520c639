#!/usr/bin/env bash
# Builds a second, untuned liveness set (docs/face-datasets.md#gc535-liveness-crops-a-second-untuned-set) from a bare git
# copy of gc535/LivenessDectectionForFaceSpoofingAttack. The images were committed in b5f9cf0
# (2018-09-28, "added dataset") and removed from the tree in 26227b1: they are read from that commit.
# Each image is a tight face crop of one capture (East-Asian faces, a phone or door camera), its
# label in the file name: "living" (bona fide) or "fake" (an attack; print or screen is not said).
# A single image is a ONE-FRAME presentation: $OUT/<split>/{real,attack}/<image name>/{00,01}.jpg,
# <split> = train | test as the repository split them (STEP=K keeps every K-th image of a
# split). 01.jpg is a hard link to 00.jpg, so that the door's min_frames (≥ 2) is met: the
# geometry sees no motion and cannot judge (as for a face held still), and the texture cue or
# the liveness net alone decide. The crop is first resized to WIDTH px wide (0: kept; the attack
# crops are 2–3 times the real ones, a difference of capture, not of liveness, that WIDTH takes
# away), then placed in a frame PAD times its size, FILL grey or copy (its edge pixels repeated:
# no frame-like border); the door's detector needs a margin round a face.
# Writes OUTSIDE the repository (never commit the images).
# usage: build-gc535-liveness.sh GIT_DIR [OUT]   (OUT defaults to /work/data/liveness/gc535)
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: build-gc535-liveness.sh GIT_DIR [OUT] / 用法：裸仓库目录 [输出目录]" >&2; exit 2; }
GIT_DIR=$1
OUT=${2:-/work/data/liveness/gc535}
COMMIT=${COMMIT:-b5f9cf09bbbd1fd5d021bb0f5ddbb02fa45a53a5}
PAD=${PAD:-2} WIDTH=${WIDTH:-0} FILL=${FILL:-grey} STEP=${STEP:-1}
HERE=$(cd "$(dirname "$0")" && pwd)
git --git-dir="$GIT_DIR" cat-file -e "$COMMIT^{commit}" 2>/dev/null ||
  { echo "commit $COMMIT not in $GIT_DIR / 仓库中没有该提交" >&2; exit 2; }
git --git-dir="$GIT_DIR" ls-tree -r --name-only "$COMMIT" dataset |
  grep -E '^dataset/(train|test)/[^/ ]+\.jpg$' | awk -v K="$STEP" '{ split($0, a, "/"); if (n[a[2]]++ % K == 0) print }' |
  while read -r p; do
    split=$(echo "$p" | cut -d/ -f2); f=$(basename "$p" .jpg)
    case "$f" in
      *living*) kind=real ;;
      *fake*) kind=attack ;;
      *) continue ;;
    esac
    case "$f" in *E-living*) continue ;; esac # an unreadable label
    d="$OUT/$split/$kind/$f"; mkdir -p "$d"
    git --git-dir="$GIT_DIR" show "$COMMIT:$p" > "$d/raw.jpg"
  done
node "$HERE/pad-crops.mjs" "$OUT" "$PAD" "$WIDTH" "$FILL"
for d in "$OUT"/*/*/*/; do [ -e "$d/01.jpg" ] || ln "$d/00.jpg" "$d/01.jpg"; done
for s in train test; do
  echo "$s: real $(ls "$OUT/$s/real" | wc -l), attack $(ls "$OUT/$s/attack" | wc -l) one-frame presentations"
done
