<?php
// Router for `php -S ... -t phorge/webroot router.php`: does the rewrite that Apache or nginx do for
// Phorge (every path that is not a file under webroot/ goes to index.php as "__path__").
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
if ($path !== '/' && $path !== null && is_file($_SERVER['DOCUMENT_ROOT'].$path)) {
  return false;
}
$_GET['__path__'] = $path;
$_REQUEST['__path__'] = $path;
require $_SERVER['DOCUMENT_ROOT'].'/index.php';
