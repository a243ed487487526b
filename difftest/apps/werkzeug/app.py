"""Werkzeug parser app for cardproxy's parser-differential suite (difftest/).

Run: python3 app.py PORT. Answers 200 with every string Werkzeug decoded
(request.args, .form, .files contents, .values, .get_json(force=True,
silent=True), .cookies, headers, path), tagged by source.
GET /__count: requests seen.
"""
import json
import logging
import os
import sys
import threading

from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from dump import add  # noqa: E402

lock = threading.Lock()
count = 0


def multi(out, src, md):
    for k, vs in md.lists():
        out.append([src + ".key", k, k])
        for v in vs:
            add(out, src, k, v)


def app(environ, start_response):
    global count
    req = Request(environ)
    if req.path == "/__count":
        with lock:
            n = count
        return Response(json.dumps({"count": n}), content_type="application/json")(environ, start_response)
    with lock:
        count += 1
    out = []
    for src, get in [
        ("args", lambda: multi(out, "args", req.args)),
        ("form", lambda: multi(out, "form", req.form)),
        ("files", lambda: [
            (out.append(["files.filename", k, f.filename or ""]), out.append(["files.content", k, f.read().decode("utf-8", "replace")]))
            for k, fs in req.files.lists() for f in fs]),
        ("values", lambda: multi(out, "values", req.values)),
        ("json", lambda: add(out, "get_json", "", req.get_json(force=True, silent=True))),
        ("cookies", lambda: multi(out, "cookies", req.cookies)),
        ("headers", lambda: [add(out, "headers", k, v) for k, v in req.headers.items()]),
        ("path", lambda: add(out, "path", "path", req.path)),
    ]:
        try:
            get()
        except Exception as e:  # never echo the message: it may quote input
            out.append(["error", src, type(e).__name__])
    resp = Response(json.dumps({"parser": "werkzeug", "items": out}), content_type="application/json")
    resp.headers["X-Parser"] = "werkzeug"
    return resp(environ, start_response)


if __name__ == "__main__":
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = int(sys.argv[1])
    print(f"werkzeug app on port {port}", flush=True)
    run_simple("127.0.0.1", port, app, threaded=True)
