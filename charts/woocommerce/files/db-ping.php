<?php
// Exit 0 when MariaDB accepts the store's credentials, 1 otherwise (run by setup.sh through
// `wp eval-file --skip-wordpress`). It connects with PHP's mysqli, as WordPress itself does,
// instead of `wp db check`: wp-cli 2.12.0 shells out to the mariadb client, which since 11.4
// verifies the server certificate by default and can fail against MariaDB's self-signed one
// (wp-cli/db-command#288, fixed upstream after 2.12.0 in wp-cli/db-command#334).
mysqli_report(MYSQLI_REPORT_OFF);
$host = getenv('WORDPRESS_DB_HOST') ?: 'localhost';
$port = 3306;
if (strpos($host, ':') !== false) {
	list($host, $port) = explode(':', $host, 2);
}
$link = @mysqli_connect(
	$host,
	getenv('WORDPRESS_DB_USER') ?: '',
	getenv('WORDPRESS_DB_PASSWORD') ?: '',
	getenv('WORDPRESS_DB_NAME') ?: '',
	(int) $port
);
if (!$link) {
	fwrite(STDERR, 'database not ready: ' . mysqli_connect_error() . "\n");
	exit(1);
}
mysqli_close($link);
