"""Shared by the Python parser apps of difftest/: flatten what a parser
decoded into [source, name, value] items (keys too; floats also as the
integer an app would print)."""


def add(out, src, name, v):
    if isinstance(v, dict):
        for k, vv in v.items():
            out.append([src + ".key", name, str(k)])
            add(out, src, f"{name}.{k}" if name else str(k), vv)
    elif isinstance(v, list):
        for i, vv in enumerate(v):
            add(out, src, f"{name}[{i}]", vv)
    elif isinstance(v, float):
        out.append([src, name, repr(v)])
        if v == v and abs(v) < 9.2e18 and v.is_integer():
            out.append([src, name, str(int(v))])
    elif isinstance(v, bytes):
        out.append([src, name, v.decode("utf-8", "replace")])
    else:
        out.append([src, name, "null" if v is None else str(v)])
