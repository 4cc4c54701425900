<?php
// setup step "configure" (WooCommerce loaded): its install routine, database updates, store
// options, pages, permalinks, cash on delivery, sample products and the front page. Every part
// is idempotent and logs only what it changed; the last line counts the changes.
// Environment: WP_URL STORE_CURRENCY STORE_COUNTRY SCRIPTS_DIR (products.tsv).

if ( ! function_exists( 'WC' ) ) {
	WP_CLI::error( 'WooCommerce is not loaded (is it active?)' );
}
$changes = 0;
$changed = static function ( $what ) use ( &$changes ) {
	$changes++;
	WP_CLI::log( $what );
};
$set = static function ( $name, $value ) use ( $changed ) {
	if ( get_option( $name ) !== $value && update_option( $name, $value ) ) {
		$changed( "set $name" );
	}
};

// WooCommerce's install routine, as its first admin page load would run it: create or update
// its tables and options (the activation hook normally did), then the first-install actions
// (woocommerce_newly_installed: HPOS order tables for a new shop, ...), which WooCommerce only
// fires on admin_init, so that new orders land in the HPOS tables from the first one.
if ( version_compare( (string) get_option( 'woocommerce_version' ), WC()->version, '<' ) ) {
	WC_Install::install();
	$changed( 'ran the WooCommerce install routine for ' . WC()->version );
}
if ( 'yes' === get_option( WC_Install::NEWLY_INSTALLED_OPTION ) ) {
	WC_Install::newly_installed();
	$changed( 'ran the WooCommerce first-install actions' );
}
// Database migrations of the installed version (what `wp wc update` runs).
if ( WC_Install::needs_db_update() ) {
	WC_CLI_Update_Command::update();
	$changed( 'ran the WooCommerce database updates' );
}

$url = getenv( 'WP_URL' );
$set( 'home', $url );
$set( 'siteurl', $url );
$set( 'woocommerce_currency', getenv( 'STORE_CURRENCY' ) ?: 'USD' );
$set( 'woocommerce_default_country', getenv( 'STORE_COUNTRY' ) ?: 'US:CA' );
// New installs start in "coming soon" mode, where shoppers see a placeholder page.
$set( 'woocommerce_coming_soon', 'no' );
$set( 'woocommerce_store_pages_only', 'no' );
$set( 'woocommerce_enable_guest_checkout', 'yes' );
// Orders are paid on delivery and no shipping rates are configured: ship-to is off, so the
// checkout does not ask for a shipping method. Store owners can turn shipping on later.
$set( 'woocommerce_ship_to_countries', 'disabled' );
$set( 'woocommerce_allow_tracking', 'no' );
$set( 'woocommerce_show_marketplace_suggestions', 'no' );
if ( empty( get_option( 'woocommerce_onboarding_profile' )['skipped'] ) ) {
	update_option( 'woocommerce_onboarding_profile', array( 'skipped' => true ) );
	$changed( 'set woocommerce_onboarding_profile' );
}

// Shop, cart, checkout and my-account pages (existing ones are kept).
$pages_ok = static function () {
	foreach ( array( 'shop', 'cart', 'checkout', 'myaccount' ) as $page ) {
		if ( 'publish' !== get_post_status( (int) get_option( "woocommerce_{$page}_page_id" ) ) ) {
			return false;
		}
	}
	return true;
};
if ( ! $pages_ok() ) {
	WC_Install::create_pages();
	$changed( 'created the WooCommerce pages' );
}

// The home page is the shop page: it lists the products.
$shop = (int) get_option( 'woocommerce_shop_page_id' );
$set( 'show_on_front', 'page' );
if ( (int) get_option( 'page_on_front' ) !== $shop ) {
	update_option( 'page_on_front', $shop );
	$changed( "set page_on_front to the shop page #$shop" );
}

// Pretty permalinks; rules flushed when they change or lack WooCommerce's product rules.
$flush = false;
if ( get_option( 'permalink_structure' ) !== '/%postname%/' ) {
	global $wp_rewrite;
	$wp_rewrite->set_permalink_structure( '/%postname%/' );
	$changed( 'set the permalink structure /%postname%/' );
	$flush = true;
}
$rules = get_option( 'rewrite_rules' );
if ( ! is_array( $rules ) || ! preg_grep( '#^product/#', array_keys( $rules ) ) ) {
	$flush = true;
}
if ( $flush ) {
	flush_rewrite_rules( false );
	WP_CLI::log( 'flushed the rewrite rules' );
}

// Cash on delivery.
$gateways = WC()->payment_gateways()->payment_gateways();
if ( ! isset( $gateways['cod'] ) ) {
	WP_CLI::error( 'WooCommerce has no cash on delivery gateway' );
}
if ( 'yes' !== $gateways['cod']->get_option( 'enabled' ) ) {
	$gateways['cod']->update_option( 'enabled', 'yes' );
	$changed( 'enabled cash on delivery' );
}

// Sample products: SKU, name, regular price, description (tab separated), created once by SKU.
$tsv = getenv( 'SCRIPTS_DIR' ) . '/products.tsv';
$lines = file( $tsv, FILE_IGNORE_NEW_LINES );
if ( false === $lines ) {
	WP_CLI::error( "cannot read $tsv" );
}
foreach ( $lines as $line ) {
	if ( '' === trim( $line ) || '#' === $line[0] ) {
		continue;
	}
	list( $sku, $name, $price, $description ) = array_pad( explode( "\t", $line, 4 ), 4, '' );
	$id = wc_get_product_id_by_sku( $sku );
	if ( $id ) {
		continue;
	}
	$product = new WC_Product_Simple();
	$product->set_name( $name );
	$product->set_sku( $sku );
	$product->set_regular_price( $price );
	$product->set_description( $description );
	$product->set_status( 'publish' );
	$id = $product->save();
	if ( ! $id ) {
		WP_CLI::error( "creating product $sku failed" );
	}
	$changed( "created product $sku (#$id)" );
}

WP_CLI::log( "configure: $changes change(s)" );
