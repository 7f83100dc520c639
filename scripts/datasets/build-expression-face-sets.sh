#!/bin/bash
# Rebuilds the held-out face sets added on 2026-12-02 in the evening (docs/face-datasets.md, "Held-out
# sets: JAFFE and a Taiwanese expression database"), OUTSIDE the repository (never commit the photos).
# Bare git snapshots under ${MIRROR:-/work/.mirror}/<owner>+<name>/repo (or: git clone --bare
# https://github.com/<owner>/<name>). Output: ${OUT:-/work/data/faces}/<set>/<person>/<photo>.
# Byte for byte with the same ffmpeg for the -pad sets (checked on jaffe, taiwanese, jaffe-pad and
# the taiwanese-g* villages: diff -r identical to the evaluated copies).
set -euo pipefail
M=${MIRROR:-/work/.mirror}
OUT=${OUT:-/work/data/faces}

# --- jaffe: JAFFE (10 Japanese women, 256x256 grey, posed expressions), from
# fitoplankton/facial-expression-classification-prediction commit 0235641ef7178718b9035b9f0664f3b7225e4485,
# jaffe/<XX>.<EXPR><n>.<seq>.jpg. Every photo; renamed <seq, 3 digits>_<name> so that name order is
# capture order (the neutral photos first for most people, so they are the ones enrolled).
G=$M/fitoplankton+facial-expression-classification-prediction/repo; C=0235641ef7178718b9035b9f0664f3b7225e4485
rm -rf "$OUT/jaffe"
git --git-dir="$G" ls-tree -r --name-only "$C" jaffe/ | grep -E '^jaffe/[A-Z]{2}\.[A-Z]{2}[0-9]\.[0-9]+\.jpg$' |
while read -r f; do
  b=$(basename "$f"); p=${b%%.*}; seq=$(echo "$b" | awk -F. '{print $3}')
  mkdir -p "$OUT/jaffe/$p"
  git --git-dir="$G" show "$C:$f" > "$OUT/jaffe/$p/$(printf %03d "$seq")_$b"
done

# --- taiwanese: a Taiwanese facial-expression database (performers 01-30, 04 absent; front view;
# 256x256 colour crops), from lai-wei-cheng/b12207073 commit 790c44989ebf3b9835806512ce2f929fe441244f,
# Taiwanese/faces_256x256/<PP><T>1<x><nn>.jpg (PP performer, T type, x expression a-g). Every photo
# but 9 whose expression letter is a digit; folder tw<PP>; calm photos (type 1, 'a') sort first.
G=$M/lai-wei-cheng+b12207073/repo; C=790c44989ebf3b9835806512ce2f929fe441244f
rm -rf "$OUT/taiwanese"
git --git-dir="$G" ls-tree -r --name-only "$C" Taiwanese/faces_256x256/ | grep -E '/[0-9]{2}[0-9]1[a-g][0-9]{2}\.jpg$' |
while read -r f; do
  b=$(basename "$f"); p=tw$(echo "$b" | cut -c1-2)
  mkdir -p "$OUT/taiwanese/$p"
  git --git-dir="$G" show "$C:$f" > "$OUT/taiwanese/$p/$b"
done

# --- SET-pad: each photo centred unscaled on a 640x480 mid-grey canvas (as casia-v5-pad), PNG, the
# first MAX photos of each person in LC_ALL=C name order: the door's SSD sees a door-sized face.
pad() {
  local set=$1 max=$2 src="$OUT/$1" dst="$OUT/$1-pad"
  rm -rf "$dst"
  for d in $(ls "$src" | LC_ALL=C sort); do ls "$src/$d" | LC_ALL=C sort | head -n "$max" | sed "s#^#$src/$d/#"; done | while read -r f; do
    p=$(basename "$(dirname "$f")"); b=$(basename "$f"); mkdir -p "$dst/$p"
    ffmpeg -loglevel error -y -i "$f" -vf "pad=640:480:(ow-iw)/2:(oh-ih)/2:color=0x808080" -pix_fmt rgb24 "$dst/$p/${b%.*}.png" </dev/null
  done
}
pad jaffe 100000
pad taiwanese 15

# --- taiwanese-g0..g2: small villages (as famous-*-g*): the k-th person in name order to group k mod 3, hard links.
for g in 0 1 2; do rm -rf "$OUT/taiwanese-g$g"; done
i=0
for p in $(ls "$OUT/taiwanese" | LC_ALL=C sort); do
  g=$((i % 3)); mkdir -p "$OUT/taiwanese-g$g"; cp -al "$OUT/taiwanese/$p" "$OUT/taiwanese-g$g/$p"; i=$((i+1))
done
for s in jaffe taiwanese jaffe-pad taiwanese-pad taiwanese-g0 taiwanese-g1 taiwanese-g2; do echo "$s: $(find "$OUT/$s" -type f | wc -l) photos"; done
