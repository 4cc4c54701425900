#!/usr/bin/env bash
# Init step of the web pod and of the setup Job (runs in the web image as uid 33): put WordPress
# core from the image (/usr/src/wordpress) into the docroot, as the official entrypoint would,
# but without its tar pipe. That tar restores the mode of "." and of wp-content, which fails as
# non-root in directories the user does not own (the docroot emptyDir is root:33 2777 through
# fsGroup; the wp-content volume's root is root-owned with local-path), even with
# --no-overwrite-dir (docker-library/wordpress#636, #903). `cp -R` without --preserve never
# changes the mode or owner of a directory that already exists, and new files get our uid.
#
# Like the entrypoint: the pluggable content (wp-content/<plugins|themes|...>/<name>) and
# .htaccess are copied only when absent, so wp-content on the volume is never overwritten;
# wp-config.php is the image's wp-config-docker.php (reads the WORDPRESS_* variables).
# Also installs the chart's must-use plugin (loopback routing) into wp-content/mu-plugins.
#
# Environment: USR_SRC (default /usr/src/wordpress), DOCROOT (default /var/www/html),
# CONFIG_DIR (default /urumi-web: the web ConfigMap with urumi-loopback.php).
set -Eeuo pipefail
src=${USR_SRC:-/usr/src/wordpress}
dst=${DOCROOT:-/var/www/html}
config=${CONFIG_DIR:-/urumi-web}

fail() {
  printf 'copy-core: %s\n' "$*" >&2
  exit 1
}
[[ -f "$src/wp-includes/version.php" ]] || fail "no WordPress core in $src (is web.image an official wordpress image?)"
[[ -w "$dst" ]] || fail "$dst is not writable by uid $(id -u)"

shopt -s dotglob nullglob
# Core: everything at the top level except wp-content (a volume) and .htaccess (kept if present).
for entry in "$src"/*; do
  name=${entry##*/}
  case "$name" in
    wp-content) continue ;;
    .htaccess) [[ -e "$dst/.htaccess" ]] && continue ;;
  esac
  cp -R "$entry" "$dst/" || fail "copying $name into $dst failed"
done

# wp-content: files at its top level (index.php) and each plugin/theme only when absent.
mkdir -p "$dst/wp-content"
for entry in "$src"/wp-content/* "$src"/wp-content/*/*; do
  rel=${entry#"$src"/}
  [[ -e "$dst/$rel" ]] && continue
  if [[ -d "$entry" && "$rel" == wp-content/*/* ]] || [[ ! -d "$entry" ]]; then
    cp -R "$entry" "$dst/$rel" || fail "copying $rel into $dst failed"
  else
    mkdir "$dst/$rel" || fail "creating $dst/$rel failed"
  fi
done

if [[ ! -s "$dst/wp-config.php" ]]; then
  cp "$src/wp-config-docker.php" "$dst/wp-config.php" || fail "writing $dst/wp-config.php failed"
fi

if [[ -f "$config/urumi-loopback.php" ]]; then
  mkdir -p "$dst/wp-content/mu-plugins"
  cp "$config/urumi-loopback.php" "$dst/wp-content/mu-plugins/urumi-loopback.php" ||
    fail "installing the urumi-loopback must-use plugin failed"
fi
printf 'copy-core: WordPress %s copied to %s\n' \
  "$(sed -n "s/^\$wp_version = '\(.*\)';/\1/p" "$src/wp-includes/version.php")" "$dst" >&2
