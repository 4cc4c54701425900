<?php
// setup step "inspect": what is installed. One line per extension: KIND SLUG VERSION|- active|inactive
require_once ABSPATH . 'wp-admin/includes/plugin.php';
$plugins = get_plugins();
$file    = 'woocommerce/woocommerce.php';
printf(
	"plugin woocommerce %s %s\n",
	isset( $plugins[ $file ] ) ? $plugins[ $file ]['Version'] : '-',
	is_plugin_active( $file ) ? 'active' : 'inactive'
);
$theme = wp_get_theme( 'storefront' );
printf(
	"theme storefront %s %s\n",
	$theme->exists() ? $theme->get( 'Version' ) : '-',
	get_stylesheet() === 'storefront' ? 'active' : 'inactive'
);
