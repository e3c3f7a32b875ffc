#!/bin/sh
# test_install.sh BUILD_DIR SRC_DIR CC CMAKE
# Installs BUILD_DIR into a scratch prefix, then builds and runs consumer.c
# against it with pkg-config and with CMake's find_package(drt).
set -eu
build=$1 src=$2 cc=$3 cmake=$4
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

"$cmake" --install "$build" --prefix "$scratch/prefix" >/dev/null
libdir=$(ls -d "$scratch"/prefix/lib*/pkgconfig | head -n1)
libdir=${libdir%/pkgconfig}

echo "== pkg-config"
PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs drt
# shellcheck disable=SC2046
"$cc" -std=c11 -Wall -Wextra -Werror -o "$scratch/consumer_pc" "$src/consumer.c" \
    $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs drt)
LD_LIBRARY_PATH="$libdir" "$scratch/consumer_pc"

echo "== find_package(drt)"
mkdir "$scratch/cm"
cp "$src/consumer.c" "$scratch/cm/"
cp "$src/consumer_cmake.txt" "$scratch/cm/CMakeLists.txt"
"$cmake" -S "$scratch/cm" -B "$scratch/cm/build" -DCMAKE_PREFIX_PATH="$scratch/prefix" \
    -DCMAKE_C_COMPILER="$cc" >/dev/null
"$cmake" --build "$scratch/cm/build" >/dev/null
LD_LIBRARY_PATH="$libdir" "$scratch/cm/build/consumer"
echo "install test passed"
