#!/usr/bin/env bash
# Fetch the WooCommerce plugin and Storefront theme zips the setup Job will install.
#
# Runs first in the setup Job, as an init container of the web image (uid 33; curl and PHP with
# zip are in the official wordpress image), so that a download failure is the Job's first and
# only failure, named as such, before anything else starts. A package already installed at the
# pinned version is not fetched again (a new Job runs on every `helm upgrade`).
#
# Any failure ends the script with exit 1 and, as its last line,
#   setup: step download failed: <reason>
# e.g. "download of woocommerce from https://... failed: could not resolve host: downloads.wordpress.org".
#
# Environment (set by templates/setup-job.yaml):
#   WC_VERSION STOREFRONT_VERSION   pinned versions
#   WC_PACKAGE STOREFRONT_PACKAGE   a URL (http, https, file) or an absolute path of a zip;
#                                   empty = downloads.wordpress.org at the pinned version
#   PACKAGES_DIR                    where the zips go (an emptyDir shared with the setup container)
#   CONTENT_DIR                     wp-content, to read what is installed (default /var/www/html/wp-content)
set -Eeuo pipefail

: "${WC_VERSION:?WC_VERSION is required}"
: "${STOREFRONT_VERSION:?STOREFRONT_VERSION is required}"
: "${PACKAGES_DIR:?PACKAGES_DIR is required}"
CONTENT_DIR=${CONTENT_DIR:-/var/www/html/wp-content}
WC_PACKAGE=${WC_PACKAGE:-https://downloads.wordpress.org/plugin/woocommerce.$WC_VERSION.zip}
STOREFRONT_PACKAGE=${STOREFRONT_PACKAGE:-https://downloads.wordpress.org/theme/storefront.$STOREFRONT_VERSION.zip}

log() { printf '[fetch] %s\n' "$*" >&2; }
fail() {
  trap - ERR
  printf 'setup: step download failed: %s\n' "$*" >&2
  exit 1
}
trap 'fail "line $LINENO: $BASH_COMMAND exited $?"' ERR

# header_version FILE: the "Version:" header of a plugin's main file or a theme's style.css.
header_version() {
  [[ -f "$1" ]] || return 0
  sed -n 's/^[[:space:]*#@]*Version:[[:space:]]*\([^[:space:]]*\).*/\1/p' "$1" | head -n 1
}

# zip_version ZIP MEMBER: the "Version:" header of MEMBER inside ZIP; exit 2 if ZIP is no zip.
zip_version() {
  # shellcheck disable=SC2016 # PHP code: its $ are PHP's
  php -r '
    $zip = new ZipArchive();
    if ($zip->open($argv[1], ZipArchive::RDONLY) !== true) { exit(2); }
    $text = $zip->getFromName($argv[2]);
    if ($text !== false && preg_match("/^[\s*#@]*Version:\s*(\S+)/mi", $text, $m)) { echo $m[1]; }
  ' "$1" "$2"
}

# fetch KIND SLUG VERSION SOURCE MEMBER: $PACKAGES_DIR/SLUG.zip holds SLUG at VERSION.
fetch() {
  local kind=$1 slug=$2 version=$3 source=$4 member=$5 installed zip err found rc=0
  installed=$(header_version "$CONTENT_DIR/${kind}s/$slug/$member")
  if [[ "$installed" == "$version" ]]; then
    log "$kind $slug $version is installed: nothing to fetch"
    return
  fi
  zip=$PACKAGES_DIR/$slug.zip
  case "$source" in
    /*)
      [[ -r "$source" ]] || fail "package of $slug not found: $source is not a readable file"
      cp "$source" "$zip"
      ;;
    http://* | https://* | file://*)
      log "downloading $slug $version from $source"
      if ! curl -fsSL --connect-timeout 20 --max-time 900 --retry 2 -o "$zip" "$source" 2>"$PACKAGES_DIR/curl-err"; then
        err=$(sed -e '/^[[:space:]]*$/d' "$PACKAGES_DIR/curl-err" | tail -n 1 | sed -E 's/^curl: \([0-9]+\) //')
        fail "download of $slug from $source failed: ${err,}"
      fi
      ;;
    *) fail "package of $slug must be a URL or an absolute path, not: $source" ;;
  esac
  found=$(zip_version "$zip" "$slug/$member") || rc=$?
  ((rc != 2)) || fail "package of $slug from $source is not a zip file"
  [[ -n "$found" ]] || fail "package of $slug from $source has no $slug/$member: not the $kind $slug"
  [[ "$found" == "$version" ]] || fail "package of $slug from $source holds version $found, not $version (setup.${slug}Version)"
  log "fetched $kind $slug $version from $source ($(stat -c %s "$zip") bytes, sha256 $(sha256sum "$zip" | cut -c1-16)...)"
}

mkdir -p "$PACKAGES_DIR"
fetch plugin woocommerce "$WC_VERSION" "$WC_PACKAGE" woocommerce.php
fetch theme storefront "$STOREFRONT_VERSION" "$STOREFRONT_PACKAGE" style.css
rm -f "$PACKAGES_DIR/curl-err"
