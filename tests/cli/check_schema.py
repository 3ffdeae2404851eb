"""check_schema.py SCHEMA_DIR DOCS... -- SCHEMA=OUTPUT.json ... - every JSON output
of ldprof against its schema in docs/schema/ (python3-jsonschema, draft 2020-12,
every object closed: a field the schema does not name is an error).

Then the convention the schemas share (docs/JSON.md): every number's name
ends with its unit (_bytes, _count, _ns, _pct, _hz; _address for an address), save identifiers and
positions (line, pid, tid, id, index, occurrence, site, version, end_signal,
first_part, last_part);
and every field a schema names is described in the docs given (the schema
and the docs cannot drift apart).
"""
import json
import os
import re
import sys

from jsonschema import Draft202012Validator, RefResolver

args = sys.argv[1:]
schema_dir = args.pop(0)
docs = []
while args and args[0] != "--":
    docs.append(args.pop(0))
args.pop(0)
store = {}
for f in os.listdir(schema_dir):
    if f.endswith(".json"):
        s = json.load(open(os.path.join(schema_dir, f)))
        Draft202012Validator.check_schema(s)
        store[s["$id"]] = s
UNITS = ("_bytes", "_count", "_ns", "_pct", "_hz", "_address")
NOT_QUANTITIES = {"line", "pid", "ppid", "tid", "id", "index", "occurrence", "site", "version", "end_signal",
                  "first_part", "last_part"}


def names(schema, out):
    """Every property a schema names, with its schema."""
    if isinstance(schema, dict):
        for k, v in schema.get("properties", {}).items():
            out.setdefault(k, []).append(v)
        for v in schema.values():
            names(v, out)
    elif isinstance(schema, list):
        for v in schema:
            names(v, out)
    return out


def is_number(s):
    t = s.get("type")
    return t in ("integer", "number") or (isinstance(t, list) and ("integer" in t or "number" in t))


doc_text = "".join(open(d).read() for d in docs)
props = {}
for s in store.values():
    names(s, props)
bad = []
for k, schemas in sorted(props.items()):
    if any(is_number(s) for s in schemas) and k not in NOT_QUANTITIES and not k.endswith(UNITS):
        bad.append(f"{k}: a number whose name does not end with its unit")
    # `name`, `channel.name` or "name" (in an example)
    if f"`{k}`" not in doc_text and f".{k}`" not in doc_text and f'"{k}"' not in doc_text:
        bad.append(f"{k}: named by a schema, described nowhere in {', '.join(docs)}")
assert not bad, "\n".join(bad)

checked = 0
for pair in args:
    name, path = pair.split("=", 1)
    schema = store[name + ".json"]
    v = Draft202012Validator(schema, resolver=RefResolver(base_uri="", referrer=schema, store=store))
    errors = sorted(v.iter_errors(json.load(open(path))), key=lambda e: list(e.path))
    if errors:
        raise SystemExit(f"{path} against {name}.json:\n" + "\n".join(
            f"  at /{'/'.join(map(str, e.path))}: {e.message[:300]}" for e in errors[:10]))
    checked += 1
print(f"{checked} outputs valid against {len(store)} schemas; {len(props)} field names, all with their unit and documented")
