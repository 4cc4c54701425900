<?php
// setup step "activate": WooCommerce and Storefront at the pinned versions, active. Idempotent.
// Run in its own wp-cli process after any install, as `wp plugin activate` would: activating
// includes the plugin and runs its activation hook (WooCommerce's WC_Install::install).
require_once ABSPATH . 'wp-admin/includes/plugin.php';

$file    = 'woocommerce/woocommerce.php';
$wanted  = getenv( 'WC_VERSION' );
$plugins = get_plugins();
if ( ! isset( $plugins[ $file ] ) ) {
	WP_CLI::error( 'WooCommerce is not installed' );
}
if ( $plugins[ $file ]['Version'] !== $wanted ) {
	WP_CLI::error( sprintf( 'WooCommerce is version %s, not the pinned %s', $plugins[ $file ]['Version'], $wanted ) );
}
if ( ! is_plugin_active( $file ) ) {
	$result = activate_plugin( $file );
	if ( is_wp_error( $result ) ) {
		WP_CLI::error( 'activating WooCommerce failed: ' . $result->get_error_message() );
	}
	WP_CLI::log( "activated WooCommerce $wanted" );
}

$wanted = getenv( 'STOREFRONT_VERSION' );
$theme  = wp_get_theme( 'storefront' );
if ( ! $theme->exists() ) {
	WP_CLI::error( 'Storefront is not installed' );
}
if ( $theme->get( 'Version' ) !== $wanted ) {
	WP_CLI::error( sprintf( 'Storefront is version %s, not the pinned %s', $theme->get( 'Version' ), $wanted ) );
}
if ( get_stylesheet() !== 'storefront' ) {
	switch_theme( 'storefront' );
	WP_CLI::log( "activated Storefront $wanted" );
}
