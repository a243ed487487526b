<?php
// PHP parser app for cardproxy's parser-differential suite (difftest/).
// Run: php -S 127.0.0.1:PORT router.php   (DIFFTEST_COUNT_FILE=<file>)
// Answers 200 with every string PHP decoded from the request, tagged by
// source: $_GET, $_POST, $_FILES (file contents), $_COOKIE, $_REQUEST,
// getallheaders() and json_decode(php://input) — the way Magento,
// WooCommerce and Shopware read requests. GET /__count: requests seen.
$countFile = getenv('DIFFTEST_COUNT_FILE') ?: sys_get_temp_dir() . '/difftest-php-count';
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
if ($path === '/__count') {
    header('Content-Type: application/json');
    echo json_encode(['count' => (int) @file_get_contents($countFile)]);
    return true;
}
file_put_contents($countFile, (string) ((int) @file_get_contents($countFile) + 1));

$out = [];
function add(array &$out, string $src, string $name, $v): void
{
    if (is_array($v)) {
        foreach ($v as $k => $vv) {
            $out[] = [$src . '.key', $name . '[' . $k . ']', (string) $k];
            add($out, $src, $name === '' ? (string) $k : $name . '[' . $k . ']', $vv);
        }
        return;
    }
    if (is_float($v)) {
        $out[] = [$src, $name, var_export($v, true)];
        if (is_finite($v) && floor($v) == $v && abs($v) < 9.2e18) {
            $out[] = [$src, $name, sprintf('%.0f', $v)];
        }
        return;
    }
    if (is_bool($v)) {
        $v = $v ? 'true' : 'false';
    }
    if ($v === null) {
        $v = 'null';
    }
    $out[] = [$src, $name, (string) $v];
}
function files(array &$out, string $name, $v): void
{
    if (!is_array($v)) {
        return;
    }
    foreach ($v as $k => $vv) {
        if ($k === 'tmp_name' && is_string($vv) && $vv !== '' && is_file($vv)) {
            $out[] = ['$_FILES.content', $name, (string) file_get_contents($vv)];
        } elseif ($k === 'tmp_name' && is_array($vv)) {
            array_walk_recursive($vv, function ($f, $kk) use (&$out, $name) {
                if (is_string($f) && $f !== '' && is_file($f)) {
                    $out[] = ['$_FILES.content', $name . '[' . $kk . ']', (string) file_get_contents($f)];
                }
            });
        } else {
            files($out, $name . '[' . $k . ']', $vv);
        }
    }
}
add($out, '$_GET', '', $_GET);
add($out, '$_POST', '', $_POST);
add($out, '$_REQUEST', '', $_REQUEST);
add($out, '$_COOKIE', '', $_COOKIE);
add($out, '$_FILES', '', $_FILES);
files($out, '', $_FILES);
add($out, 'getallheaders', '', getallheaders());
add($out, 'path', 'path', rawurldecode((string) $path));
$raw = file_get_contents('php://input');
if ($raw !== '' && $raw !== false) {
    $j = json_decode($raw, true);
    if ($j !== null) {
        add($out, 'json_decode', '', is_array($j) ? $j : ['' => $j]);
    }
}
header('Content-Type: application/json');
header('X-Parser: php');
echo json_encode(['parser' => 'php', 'items' => $out], JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR);
return true;
