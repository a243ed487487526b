// Shared by the SDK scripts: the Go test (sdktest/*_test.go) passes one JSON
// object as the only argument and reads one JSON line from stdout — what the
// SDK returned (parsed) or the error it raised. A script never prints its
// input: stdout is "the app side" the test checks for card data.
export const input = JSON.parse(process.argv[2] ?? '{}');

export function print(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// run calls f and prints {ok: true, parsed} or, for an error the SDK raised
// with an HTTP status, {ok: false, status, error}; anything else exits 1.
export async function run(f, describeError) {
  try {
    print({ ok: true, parsed: await f() });
  } catch (err) {
    const d = describeError(err);
    if (d === undefined) {
      process.stderr.write(String(err && err.stack || err) + '\n');
      process.exit(1);
    }
    print({ ok: false, ...d });
  }
}
