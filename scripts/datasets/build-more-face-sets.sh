#!/bin/bash
# Rebuilds the face sets added on 2026-12-02 (docs/face-datasets.md), OUTSIDE the repository (never commit the photos).
# Bare git snapshots under /work/.mirror/<owner>+<name>/repo (or: git clone --bare https://github.com/<owner>/<name>).
# Output: ${OUT:-/work/data/faces}/<set>/<person>/<photo>; run into an empty OUT (verified: a rebuild into an empty
# folder is byte-identical to /work/data/faces, 1,684 files incl. the hard-linked groups).
set -euo pipefail
M=${MIRROR:-/work/.mirror}
# a snapshot is a bare git dir at <owner>+<name>/repo (for some, the .git inside it)
gd() { if [ -d "$M/$1/repo/.git" ]; then echo "$M/$1/repo/.git"; else echo "$M/$1/repo"; fi; }
OUT=${OUT:-/work/data/faces}
ex() { mkdir -p "$(dirname "$4")"; git --git-dir="$1" show "$2:$3" > "$4"; }

# --- casia-v5-crop: CASIA-FaceV5 (Chinese, USB webcam, 5 photos/person), face crops 168x193 BMP
# Liuluotao/PCA-SVM- commit 5c1ac02eec0cabeac86b55e2db4d83810ec454fb ("Add files via upload", 2021-11-16),
# paths <id>/<id>_<n>.bmp (40 people x 5); the folders were later deleted from HEAD. BMP re-encoded to PNG (lossless).
G=$(gd Liuluotao+PCA-SVM-); C=5c1ac02eec0cabeac86b55e2db4d83810ec454fb
git --git-dir=$G ls-tree -r --name-only $C | grep -E '^[0-9]{3}/[0-9]{3}_[0-9]\.bmp$' | sort | while read -r f; do
  d="$OUT/casia-v5-crop/$(dirname "$f")"; mkdir -p "$d"
  git --git-dir=$G show "$C:$f" > /tmp/newsets-tmp.bmp
  ffmpeg -loglevel error -y -i /tmp/newsets-tmp.bmp "$d/$(basename "${f%.bmp}").png" </dev/null
done

# --- casia-v5-pad: the same 200 crops, each centred unscaled on a 640x480 mid-grey canvas, so that the
# door's SSD (which misses faces filling the picture, docs/face-engine.md "Photos whose face fills the picture")
# sees a face of door size (~170 px) in a webcam-sized frame. Derived set; same people as casia-v5-crop.
for f in "$OUT"/casia-v5-crop/*/*.png; do
  p=$(basename "$(dirname "$f")"); mkdir -p "$OUT/casia-v5-pad/$p"
  ffmpeg -loglevel error -y -i "$f" -vf "pad=640:480:(ow-iw)/2:(oh-ih)/2:color=0x808080" "$OUT/casia-v5-pad/$p/$(basename "$f")" </dev/null
done

# --- famous-cn / famous-jp / famous-kr: portrait photos of Chinese, Japanese and Korean public figures
# (scraped from thefamouspeople.com profile carousels), bigblockofice/AsianFaces
# commit 14281d93073deb592a4b25fba6efd54af02a1dc2, flat folders faces_data/{chinese,japanese,korean}/<name>[-<n>].jpg;
# the person is the file name without its trailing -<n>. famous-cn: every person with >= 3 photos;
# famous-jp / famous-kr: every person with >= 5 photos; first 8 photos by version sort. Files that are not
# JPEG/PNG (by `file`) are re-encoded to PNG with ffmpeg.
A=$(gd bigblockofice+AsianFaces); AC=14281d93073deb592a4b25fba6efd54af02a1dc2
famous() { # SRC_DIR SET MIN
  git --git-dir=$A ls-tree -r --name-only $AC "faces_data/$1/" | grep '\.jpg$' |
    awk -F/ '{b=$NF; p=b; sub(/\.jpg$/,"",p); sub(/-[0-9]+$/,"",p); print p"\t"$0}' | sort -V > /tmp/famous-$1.tsv
  cut -f1 /tmp/famous-$1.tsv | uniq -c | awk -v m=$3 '$1>=m{print $2}' | while read -r p; do
    awk -F'\t' -v p="$p" '$1==p{print $2}' /tmp/famous-$1.tsv | awk 'NR<=8' | while read -r f; do
      o="$OUT/$2/$p/$(basename "$f")"; ex $A $AC "$f" "$o"
      case "$(file -b "$o")" in JPEG*|PNG*) ;; *) ffmpeg -loglevel error -y -i "$o" "${o%.jpg}.png" </dev/null && rm "$o";; esac
    done
  done
}
famous chinese famous-cn 3
famous japanese famous-jp 5
famous korean famous-kr 5

# --- kpop-idols-pad: 15 female K-pop idols (13 Korean, Lisa Thai, Sana Japanese), tapankarnik/Kpop-Idol-Face-Classifier
# commit 277bcc453cef50d736ac1b0810722f681650d9ca, data/processed_data/train/<Name>/ (160x160 aligned face crops made by the
# repository's own process_data.py); first 8 by name (LC_ALL=C sort), each centred unscaled on a 320x320 mid-grey canvas
# (the door's SSD misses faces that fill the picture), written as PNG.
K=$(gd tapankarnik+Kpop-Idol-Face-Classifier); KC=277bcc453cef50d736ac1b0810722f681650d9ca
for p in $(git --git-dir=$K ls-tree --name-only $KC data/processed_data/train/ | xargs -n1 basename); do
  git -c core.quotepath=off --git-dir=$K ls-tree -r --name-only $KC "data/processed_data/train/$p/" | LC_ALL=C sort | awk 'NR<=8' |
  while IFS= read -r f; do
    mkdir -p "$OUT/kpop-idols-pad/$p"; git --git-dir=$K show "$KC:$f" > /tmp/newsets-kp.img
    n=$(basename "$f"); n=${n%.*}; n=$(printf '%s' "$n" | tr -c 'A-Za-z0-9_-' '_')
    ffmpeg -loglevel error -y -i /tmp/newsets-kp.img -vf "pad=iw*2:ih*2:(ow-iw)/2:(oh-ih)/2:color=0x808080" -pix_fmt rgb24 "$OUT/kpop-idols-pad/$p/$n.png" </dev/null
  done
done

# --- small villages: the famous-* sets split into disjoint groups of people (k-th person in name order
# -> group k mod G), hard links of the same photos: famous-cn-g{0,1,2} (G=3), famous-kr-g{0,1,2} (G=3), famous-jp-g{0,1} (G=2).
smallv() { # SET G
  ls "$OUT/$1" | LC_ALL=C sort | awk -v g=$2 '{print (NR-1)%g, $0}' | while read -r k p; do
    mkdir -p "$OUT/$1-g$k"; cp -al "$OUT/$1/$p" "$OUT/$1-g$k/$p"
  done
}
smallv famous-cn 3; smallv famous-kr 3; smallv famous-jp 2
