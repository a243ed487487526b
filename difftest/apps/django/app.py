"""Django parser app for cardproxy's parser-differential suite (difftest/).

Run: python3 app.py PORT. Single-file settings, Django's own threaded WSGI
server. Answers 200 with every string Django decoded (request.GET,
request.POST getlist, request.FILES contents, json.loads(request.body),
request.COOKIES, request.META HTTP_*), tagged by source.
GET /__count: requests seen.
"""
import json
import os
import sys
import threading

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    SECRET_KEY="difftest-not-secret",
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATA_UPLOAD_MAX_MEMORY_SIZE=None,
    USE_TZ=True,
    LOGGING_CONFIG=None,
)
django.setup()

from django.core.servers.basehttp import run  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import re_path  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from dump import add  # noqa: E402

lock = threading.Lock()
count = 0


def qd(out, src, d):
    for k in d.keys():
        out.append([src + ".key", k, k])
        for v in d.getlist(k):
            add(out, src, k, v)


def files(out, req):
    for k in req.FILES.keys():
        for f in req.FILES.getlist(k):
            out.append(["FILES.name", k, f.name or ""])
            out.append(["FILES.content", k, f.read().decode("utf-8", "replace")])


def view(req):
    global count
    if req.path == "/__count":
        with lock:
            return HttpResponse(json.dumps({"count": count}), content_type="application/json")
    with lock:
        count += 1
    out = []
    body = None
    for src, get in [
        ("body", lambda: req.body),
        ("GET", lambda: qd(out, "GET", req.GET)),
        ("POST", lambda: qd(out, "POST", req.POST)),
        ("FILES", lambda: files(out, req)),
        ("json", lambda: add(out, "json.loads", "", json.loads(req.body))),
        ("COOKIES", lambda: add(out, "COOKIES", "", dict(req.COOKIES))),
        ("META", lambda: [add(out, "META", k, v) for k, v in req.META.items()
                          if k.startswith("HTTP_") or k == "CONTENT_TYPE"]),
        ("path", lambda: add(out, "path", "path", req.path)),
    ]:
        try:
            get()
        except Exception as e:  # never echo the message: it may quote input
            out.append(["error", src, type(e).__name__])
    resp = HttpResponse(json.dumps({"parser": "django", "items": out}), content_type="application/json")
    resp["X-Parser"] = "django"
    return resp


urlpatterns = [re_path(r"", view)]

if __name__ == "__main__":
    port = int(sys.argv[1])
    print(f"django app on port {port}", flush=True)
    run("127.0.0.1", port, get_wsgi_application(), threading=True)
