#!/usr/bin/env bash
# Builds mbedTLS's ssl_server2 test server, the DTLS 1.2 Connection ID (RFC 9146) peer of the
# interop tests, from Debian's source package of mbedTLS 3.6.6 (trixie): downloaded from the
# Debian archive, checked against the checksum Debian's Sources index gives, built with make.
# Prints the binary's path. Idempotent: an existing build is reused.
set -euo pipefail
version=3.6.6
sha256=8fb65fae8dcae5840f793c0a334860a411f884cc537ea290ce1c52bb64ca007a
dir="${ANCHORTLS_PEERS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/anchortls}/mbedtls-$version"
binary="$dir/programs/ssl/ssl_server2"
if [[ -x "$binary" ]]; then
  echo "$binary"
  exit 0
fi
mkdir -p "$(dirname "$dir")"
tarball="$(dirname "$dir")/mbedtls_$version.orig.tar.bz2"
if [[ ! -f "$tarball" ]]; then
  curl -fsSL -o "$tarball.part" \
    "http://deb.debian.org/debian/pool/main/m/mbedtls/mbedtls_$version.orig.tar.bz2"
  mv "$tarball.part" "$tarball"
fi
echo "$sha256  $tarball" | sha256sum -c --quiet -
rm -rf "$dir"
tar -xjf "$tarball" -C "$(dirname "$dir")"
# The default configuration has MBEDTLS_SSL_DTLS_CONNECTION_ID with the RFC 9146 format.
make -s -j2 -C "$dir/library" >/dev/null
make -s -j2 -C "$dir/programs" ssl/ssl_server2 >/dev/null
echo "$binary"
