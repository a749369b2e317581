#!/usr/bin/python3
"""Validate policy files against etc/lns-policy.schema.json.

    schemacheck.py SCHEMA FILE ...

Prints "FILE valid" or "FILE invalid: REASON" for each file, loading
it as YAML 1.1 with PyYAML's safe loader (the types lensctl policy check
sees), and exits 0 unless the schema itself is broken.  Uses Debian's
python3-jsonschema and python3-yaml.
"""
import json
import sys

import jsonschema
import yaml


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    if cls is not jsonschema.Draft202012Validator:
        print("schema is not draft 2020-12", file=sys.stderr)
        return 2
    validator = cls(schema)
    for path in sys.argv[2:]:
        try:
            with open(path, "rb") as f:
                doc = yaml.safe_load(f.read().decode("utf-8"))
        except (UnicodeDecodeError, yaml.YAMLError) as e:
            print("%s invalid: %s" % (path, str(e).splitlines()[0]))
            continue
        err = jsonschema.exceptions.best_match(validator.iter_errors(doc))
        if err is None:
            print("%s valid" % path)
        else:
            where = "/".join(str(p) for p in err.absolute_path)
            print("%s invalid: %s: %s" % (path, where or "(top)",
                                          err.message[:200]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
