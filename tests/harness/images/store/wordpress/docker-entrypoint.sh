#!/bin/bash
# The official wordpress image's entrypoint behaviour, also run as docker-ensure-installed.sh:
# for apache2*/php-fpm (or when called as docker-ensure-installed.sh), if the working directory
# has no WordPress, copy /usr/src/wordpress into it with tar, owned by www-data when started as
# root, else by the current uid/gid with --no-overwrite-dir; existing .htaccess and
# wp-content/*/*/ are kept; then, without a wp-config.php but with WORDPRESS_* variables, write
# wp-config.php from wp-config-docker.php with fresh unique phrases. Then exec the command.
set -Eeuo pipefail
if [[ "$1" == apache2* ]] || [ "$1" = php-fpm ] || [ "$(basename "$0")" = docker-ensure-installed.sh ]; then
  uid=$(id -u); gid=$(id -g)
  if [ "$uid" = 0 ]; then
    case "$1" in
      apache2*) user=${APACHE_RUN_USER:-www-data}; group=${APACHE_RUN_GROUP:-www-data}; user=${user#'#'}; group=${group#'#'} ;;
      *) user=www-data; group=www-data ;;
    esac
  else
    user=$uid; group=$gid
  fi
  if [ ! -e index.php ] && [ ! -e wp-includes/version.php ]; then
    if [ "$uid" = 0 ] && [ "$(stat -c '%u:%g' .)" = 0:0 ]; then chown "$user:$group" .; fi
    echo >&2 "WordPress not found in $PWD - copying now..."
    if [ -n "$(find . -mindepth 1 -maxdepth 1 -not -name wp-content)" ]; then
      echo >&2 "WARNING: $PWD is not empty! (copying anyhow)"
    fi
    sourceTarArgs=(--create --file - --directory /usr/src/wordpress --owner "$user" --group "$group")
    targetTarArgs=(--extract --file -)
    if [ "$uid" != 0 ]; then targetTarArgs+=(--no-overwrite-dir); fi
    for contentPath in /usr/src/wordpress/.htaccess /usr/src/wordpress/wp-content/*/*/; do
      contentPath=${contentPath%/}
      [ -e "$contentPath" ] || continue
      contentPath=${contentPath#/usr/src/wordpress/}
      if [ -e "$PWD/$contentPath" ]; then
        echo >&2 "WARNING: '$PWD/$contentPath' exists! (not copying the WordPress version)"
        sourceTarArgs+=(--exclude "./$contentPath")
      fi
    done
    tar "${sourceTarArgs[@]}" . | tar "${targetTarArgs[@]}"
    echo >&2 "Complete! WordPress has been successfully copied to $PWD"
  fi
  wpEnvs=("${!WORDPRESS_@}")
  if [ ! -s wp-config.php ] && [ "${#wpEnvs[@]}" -gt 0 ]; then
    for wpConfigDocker in wp-config-docker.php /usr/src/wordpress/wp-config-docker.php; do
      if [ -s "$wpConfigDocker" ]; then
        echo >&2 "No 'wp-config.php' found in $PWD, but 'WORDPRESS_...' variables supplied; copying '$wpConfigDocker' (${wpEnvs[*]})"
        awk '
          /put your unique phrase here/ {
            cmd = "head -c1m /dev/urandom | sha1sum | cut -d\\  -f1"
            cmd | getline str
            close(cmd)
            gsub("put your unique phrase here", str)
          }
          { print }
        ' "$wpConfigDocker" >wp-config.php
        if [ "$uid" = 0 ]; then chown "$user:$group" wp-config.php || true; fi
        break
      fi
    done
  fi
fi
exec "$@"
