#!/usr/bin/env bash
# ctest install_example: installs the build tree into a temporary prefix (cmake --install, no
# second build of the project), builds examples/cpp against it with find_package(deepcomp), runs
# it on models/lenet-300-100.onnx and checks its ratio equals the CLI's --report-json ratio; builds
# it again with pkg-config alone (unless DEEPCOMP_SKIP_PKGCONFIG is set: sanitizer builds, whose
# flags deepcomp.pc does not carry); then, when the Python module was built ($PYTHON set), runs
# examples/python from the prefix.
#   install_example.sh BUILD_DIR SOURCE_DIR DEEPCOMP_BINARY GENERATOR
set -euo pipefail
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd) bin=$3 generator=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" > "$work/install.log"
for f in include/deepcomp/deepcomp.h include/deepcomp/core/status.h lib/cmake/deepcomp/deepcompConfig.cmake \
         lib/cmake/deepcomp/deepcompConfigVersion.cmake lib/pkgconfig/deepcomp.pc bin/deepcomp; do
  [ -e "$prefix/$f" ] || { echo "not installed: $f"; exit 1; }
done

cmake -S "$src/examples/cpp" -B "$work/example" -G "$generator" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release > "$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/example" > "$work/build.log" || { cat "$work/build.log"; exit 1; }

model=$src/models/lenet-300-100.onnx
out=$("$work/example/compress_example" "$model" "$work/api.dcz" 0.9)
echo "$out"
api_ratio=$(sed -n 's/^ratio //p' <<< "$out")
"$prefix/bin/deepcomp" compress "$model" -o "$work/cli.dcz" --prune-fc 0.9 --no-energy -q \
  --report-json "$work/cli.json"
cli_ratio=$(python3 -c 'import json,sys; print(repr(json.load(open(sys.argv[1]))["total"]["ratio"]))' "$work/cli.json")
echo "example ratio $api_ratio, CLI ratio $cli_ratio"
python3 -c 'import sys; a,c=float(sys.argv[1]),float(sys.argv[2]); sys.exit(0 if a==c and a>1 else 1)' \
  "$api_ratio" "$cli_ratio" || { echo "ratios differ"; exit 1; }
cmp "$work/api.dcz" "$work/cli.dcz" || { echo "the example's .dcz differs from the CLI's"; exit 1; }

# The same program built with pkg-config alone.
if command -v pkg-config > /dev/null && [ -z "${DEEPCOMP_SKIP_PKGCONFIG:-}" ]; then
  flags=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs deepcomp)
  # shellcheck disable=SC2086
  c++ -O1 -o "$work/pc_example" "$src/examples/cpp/compress_example.cc" $flags
  pc_ratio=$("$work/pc_example" "$model" "$work/pc.dcz" 0.9 | sed -n 's/^ratio //p')
  [ "$pc_ratio" = "$api_ratio" ] || { echo "pkg-config build: ratio $pc_ratio"; exit 1; }
  echo "pkg-config build: ratio $pc_ratio"
fi

if [ -n "${PYTHON:-}" ]; then
  site=$prefix/lib/python3/dist-packages
  [ -e "$site/deepcomp/__init__.py" ] || { echo "Python package not installed in $site"; exit 1; }
  if "$PYTHON" -c 'import numpy' 2> /dev/null; then
    (cd "$work" && PYTHONPATH=$site DEEPCOMP_BINARY=$prefix/bin/deepcomp \
      "$PYTHON" "$src/examples/python/compress_and_compare.py" "$model" "$work/py")
  else
    echo "numpy missing for $PYTHON: Python example skipped"
  fi
fi
echo "install_example: ok"
