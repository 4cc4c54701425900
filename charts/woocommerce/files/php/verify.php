<?php
// setup step "verify": the end state, one line per check ("ok: NAME" or "FAILED: NAME: why"),
// then an error naming the failed checks. Environment: WC_VERSION STOREFRONT_VERSION WP_URL SCRIPTS_DIR.
require_once ABSPATH . 'wp-admin/includes/plugin.php';
global $wpdb;

$checks = array();

$plugins = get_plugins();
$file    = 'woocommerce/woocommerce.php';
$version = $plugins[ $file ]['Version'] ?? 'not installed';
$checks['woocommerce_active'] = is_plugin_active( $file ) && function_exists( 'WC' )
	? ( $version === getenv( 'WC_VERSION' ) ? true : "version $version, not " . getenv( 'WC_VERSION' ) )
	: "inactive ($version)";

$theme = wp_get_theme( 'storefront' );
$checks['storefront_active'] = get_stylesheet() === 'storefront'
	? ( $theme->get( 'Version' ) === getenv( 'STOREFRONT_VERSION' ) ? true : 'version ' . $theme->get( 'Version' ) )
	: 'the active theme is ' . get_stylesheet();

$url = getenv( 'WP_URL' );
$checks['home_is_exact'] = get_option( 'home' ) === $url && get_option( 'siteurl' ) === $url
	? true : sprintf( 'home %s, siteurl %s, want %s', get_option( 'home' ), get_option( 'siteurl' ), $url );

$wc = function_exists( 'WC' );
$cod = $wc ? ( WC()->payment_gateways()->payment_gateways()['cod'] ?? null ) : null;
$checks['cod_enabled'] = $cod && 'yes' === $cod->get_option( 'enabled' ) ? true : 'cash on delivery is off';
$checks['guest_checkout'] = 'yes' === get_option( 'woocommerce_enable_guest_checkout' ) ? true : 'off';
$checks['not_coming_soon'] = 'no' === get_option( 'woocommerce_coming_soon' ) ? true : 'the store is in "coming soon" mode';

$missing = array();
foreach ( array( 'shop', 'cart', 'checkout', 'myaccount' ) as $page ) {
	if ( 'publish' !== get_post_status( (int) get_option( "woocommerce_{$page}_page_id" ) ) ) {
		$missing[] = $page;
	}
}
$checks['pages_published'] = $missing ? 'not published: ' . implode( ', ', $missing ) : true;

$shop = (int) get_option( 'woocommerce_shop_page_id' );
$checks['front_page_is_shop'] = 'page' === get_option( 'show_on_front' ) && $shop > 0 && (int) get_option( 'page_on_front' ) === $shop
	? true : sprintf( 'show_on_front %s, page_on_front %s, shop page %d', get_option( 'show_on_front' ), get_option( 'page_on_front' ), $shop );

$missing = array();
$found   = 0;
foreach ( (array) file( getenv( 'SCRIPTS_DIR' ) . '/products.tsv', FILE_IGNORE_NEW_LINES ) as $line ) {
	if ( '' === trim( (string) $line ) || '#' === $line[0] ) {
		continue;
	}
	$sku = explode( "\t", $line )[0];
	$id  = $wc ? wc_get_product_id_by_sku( $sku ) : 0;
	if ( ! $id || 'publish' !== get_post_status( $id ) ) {
		$missing[] = $sku;
	}
	$found++;
}
$checks['products_exist'] = 0 === $found ? 'no sample products configured' : ( $missing ? 'missing: ' . implode( ', ', $missing ) : true );

// New orders go to the HPOS tables (WooCommerce's first-install actions enable them).
$hpos_table = $wpdb->prefix . 'wc_orders';
$checks['hpos_orders'] = 'yes' === get_option( 'woocommerce_custom_orders_table_enabled' )
	&& $wpdb->get_var( $wpdb->prepare( 'SHOW TABLES LIKE %s', $hpos_table ) ) === $hpos_table
	? true : 'orders are not stored in ' . $hpos_table;

// WP-Cron and Action Scheduler loopbacks reach the store's own Apache.
$checks['loopback_routing'] = defined( 'URUMI_LOOPBACK' ) && has_action( 'requests-requests.before_request' )
	? true : 'the urumi-loopback must-use plugin is not loaded';

$failed = array();
foreach ( $checks as $name => $result ) {
	if ( true === $result ) {
		WP_CLI::log( "ok: $name" );
	} else {
		WP_CLI::log( "FAILED: $name: $result" );
		$failed[] = $name;
	}
}
if ( $failed ) {
	WP_CLI::error( sprintf( '%d check(s) failed: %s', count( $failed ), implode( ', ', $failed ) ) );
}
