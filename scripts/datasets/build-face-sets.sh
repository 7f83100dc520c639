#!/usr/bin/env bash
# Rebuilds the face sets of docs/face-datasets.md from bare git copies of the public repositories,
# OUTSIDE the repository (never commit the photos). usage: build-face-sets.sh [OUT]
# (OUT defaults to /work/data/faces; MIRROR to /work/.mirror). nuaa-client-dim: build-dim.mjs.
set -euo pipefail
# `awk 'NR<=N'`, not `head -N`: head closes the pipe early, the writer dies of SIGPIPE and
# pipefail ends the whole build part-way (exit 141), depending on how much was buffered.
OUT=${1:-/work/data/faces}
M=${MIRROR:-/work/.mirror}
NUAA=$M/imironica+liveness/repo
LFW=$M/umass-vis-lfw+umass-vis-lfw.github.io/repo
ASIA=$M/nz0001na+Asian_faces/repo
EA="Ai_Sugiyama Chen_Shui-bian Choi_Sung-hong Hu_Jintao Jackie_Chan Jeong_Se-hyun Jiang_Zemin Junichiro_Koizumi Kim_Dae-jung Kim_Jong-Il Kim_Ryong-sung Kim_Yong-il Kwon_Yang-sook Lee_Hoi-chang Lee_Soo-hyuck Li_Peng Li_Zhaoxing Naoto_Kan Roh_Moo-hyun Tang_Jiaxuan Tung_Chee-hwa Wang_Yingfan Wen_Jiabao Wu_Yi Yao_Ming Yoko_Ono Yu_Shyi-kun Zhang_Ziyi Zhu_Rongji"
ex() { mkdir -p "$(dirname "$3")"; git --git-dir="$1" show "HEAD:$2" > "$3"; }
T=$(mktemp -d)
for p in $(git --git-dir=$NUAA ls-tree --name-only HEAD db/ClientRaw/ | xargs -n1 basename | grep -E '^[0-9]{4}$'); do
  git --git-dir=$NUAA ls-tree -r --name-only HEAD "db/ClientRaw/$p" | grep '\.jpg$' | sort -V > "$T/nuaa-$p.txt"
  n=$(wc -l < "$T/nuaa-$p.txt")
  for i in $(seq 0 19); do f=$(sed -n "$(( i * n / 20 + 1 ))p" "$T/nuaa-$p.txt"); ex $NUAA "$f" "$OUT/nuaa-client/$p/$(basename "$f")"; done
done
for p in $EA; do
  git --git-dir=$LFW ls-tree -r --name-only HEAD "images_deepfunneled/$p/" | sort | awk 'NR<=8' |
    while read -r f; do ex $LFW "$f" "$OUT/lfw-eastasian/$p/$(basename "$f")"; done
done
git --git-dir=$LFW ls-tree -r --name-only HEAD images_deepfunneled | awk -F/ '{print $2}' | sort | uniq -c | awk '$1>=4{print $2}' > "$T/lfw4.txt"
for p in $EA Chan_Gailey; do sed -i "/^$p\$/d" "$T/lfw4.txt"; done
awk 'NR%7==1' "$T/lfw4.txt" | awk 'NR<=80' | awk 'NR%2==1{print "a",$0} NR%2==0{print "b",$0}' | while read -r s p; do
  git --git-dir=$LFW ls-tree -r --name-only HEAD "images_deepfunneled/$p/" | sort | awk 'NR<=6' |
    while read -r f; do ex $LFW "$f" "$OUT/lfw-western-$s/$p/$(basename "$f")"; done
done
git --git-dir=$ASIA ls-tree -r --name-only HEAD DCleaning_tool/target_images | grep '\.jpg$' |
  while read -r f; do ex $ASIA "$f" "$OUT/asian-celeb/$(basename "$(dirname "$f")")/$(basename "$f")"; done
find "$OUT" -type f | while read -r f; do
  if file -b "$f" | grep -q 'PC bitmap'; then ffmpeg -loglevel error -y -f bmp_pipe -i "$f" "${f%.*}.png" && rm "$f"; fi
done
rm -r "$T"
for s in "$OUT"/*/; do echo "$(basename "$s") $(ls "$s" | wc -l) people $(find "$s" -type f | wc -l) photos"; done
