#!/usr/bin/python3
"""Validates STAC Items and Collections against the vendored STAC 1.0.0 schemas, offline.

usage: validate_stac.py SCHEMA_DIR FILE.json...   (exit 0: all valid; 1: errors printed)
Each file is checked as an Item ("type": "Feature") or a Collection ("type": "Collection").
Every $ref resolves from SCHEMA_DIR (by the $id of each vendored file); any other URL is an error,
so the check never touches the network.
"""
import datetime
import json
import pathlib
import sys
import urllib.parse

import jsonschema

ITEM = "https://schemas.stacspec.org/v1.0.0/item-spec/json-schema/item.json"
COLLECTION = "https://schemas.stacspec.org/v1.0.0/collection-spec/json-schema/collection.json"


def load_store(folder):
    store = {}
    for path in pathlib.Path(folder).rglob("*.json"):
        schema = json.loads(path.read_text())
        uri = schema["$id"].rstrip("#")
        store[uri] = schema
        store[uri + "#"] = schema
    return store


def offline(uri):
    raise jsonschema.RefResolutionError(f"{uri} is not vendored (no network in tests)")


FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def is_date_time(value):
    # RFC 3339: a date, 'T', a time and an offset or Z.
    if not isinstance(value, str):
        return True
    if "T" not in value.upper() or not (value.endswith("Z") or value[-6] in "+-"):
        raise ValueError("not an RFC 3339 date-time")
    datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


@FORMATS.checks("iri")
def is_iri(value):
    if not isinstance(value, str):
        return True
    parts = urllib.parse.urlsplit(value)
    return bool(parts.scheme) and " " not in value


@FORMATS.checks("iri-reference")
def is_iri_reference(value):
    return not isinstance(value, str) or (len(value) > 0 and " " not in value)


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    store = load_store(argv[1])
    failed = 0
    for name in argv[2:]:
        doc = json.loads(pathlib.Path(name).read_text())
        uri = COLLECTION if doc.get("type") == "Collection" else ITEM
        schema = store[uri]
        resolver = jsonschema.RefResolver(uri, schema, store=store, handlers={"http": offline, "https": offline})
        validator = jsonschema.Draft7Validator(schema, resolver=resolver, format_checker=FORMATS)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        for e in errors:
            where = "/".join(str(p) for p in e.absolute_path) or "(root)"
            print(f"{name}: {where}: {e.message}")
        failed += bool(errors)
        if not errors:
            print(f"{name}: valid STAC {doc.get('type')}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
