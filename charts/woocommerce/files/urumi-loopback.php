<?php
/**
 * Plugin Name: urumi loopback
 * Description: Sends WordPress's requests to its own site (WP-Cron, Action Scheduler, Site Health
 * loopbacks) straight to the store's Apache instead of the public URL. Installed by the urumi
 * chart; do not edit, it is copied again on every start.
 *
 * WordPress calls its own URL (http://shop.localhost/wp-cron.php, https://shop.example.com/...)
 * from inside the pod, where that host resolves to the pod itself or to the public ingress,
 * neither of which answers there: Apache listens on 8080, TLS ends at the ingress, and the
 * NetworkPolicy need not allow the pod out. Requests whose host is the site's host are sent to
 * URUMI_LOOPBACK_URL (the web pod: http://127.0.0.1:8080; the setup Job: the WordPress Service)
 * with the original Host header, and X-Forwarded-Proto: https when the site URL is https (so
 * wp-config-docker.php sets HTTPS as behind the ingress). Cookies are kept: WordPress's cookie
 * jar has already matched them against the original URL when this hook runs.
 */

defined( 'ABSPATH' ) || exit;

define( 'URUMI_LOOPBACK', getenv( 'URUMI_LOOPBACK_URL' ) ?: '' );

/**
 * The new URL and headers for a request to the site's own host, or null to leave it alone.
 *
 * @param string $url     Requested URL.
 * @param string $home    The site's home URL.
 * @param string $target  Where the site really answers, e.g. http://127.0.0.1:8080.
 * @return array{0: string, 1: array<string, string>}|null
 */
function urumi_loopback_route( $url, $home, $target ) {
	if ( '' === $target ) {
		return null;
	}
	$site = parse_url( $home );
	$req  = parse_url( $url );
	if ( empty( $req['host'] ) || empty( $site['host'] ) || 0 !== strcasecmp( $req['host'], $site['host'] ) ) {
		return null;
	}
	$scheme = strtolower( $req['scheme'] ?? 'http' );
	$path   = ( $req['path'] ?? '/' ) . ( isset( $req['query'] ) ? '?' . $req['query'] : '' );
	$host   = $req['host'] . ( isset( $req['port'] ) ? ':' . $req['port'] : '' );
	$headers = array( 'Host' => $host );
	if ( 'https' === $scheme ) {
		$headers['X-Forwarded-Proto'] = 'https';
	}
	return array( rtrim( $target, '/' ) . $path, $headers );
}

if ( function_exists( 'add_action' ) ) {
	add_action(
		'requests-requests.before_request',
		static function ( &$url, &$headers ) {
			$route = urumi_loopback_route( (string) $url, home_url(), URUMI_LOOPBACK );
			if ( null === $route ) {
				return;
			}
			$url = $route[0];
			foreach ( array_keys( (array) $headers ) as $name ) {
				if ( in_array( strtolower( $name ), array( 'host', 'x-forwarded-proto' ), true ) ) {
					unset( $headers[ $name ] );
				}
			}
			$headers = array_merge( (array) $headers, $route[1] );
		},
		10,
		2
	);
}
