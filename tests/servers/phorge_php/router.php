<?php
// Router for `php -S ... -t phorge/webroot router.php`: does the rewrite that Apache or nginx do for
// Phorge (every path that is not a file under webroot/ goes to index.php as "__path__").
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
// every request, with its path: tests count the requests a client sent (tests/phorge_support.py)
file_put_contents(__DIR__.'/requests.log', $_SERVER['REQUEST_METHOD'].' '.$path."\n", FILE_APPEND | LOCK_EX);
if ($path !== '/' && $path !== null && is_file($_SERVER['DOCUMENT_ROOT'].$path)) {
  return false;
}
$_GET['__path__'] = $path;
$_REQUEST['__path__'] = $path;
require $_SERVER['DOCUMENT_ROOT'].'/index.php';
