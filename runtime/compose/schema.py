"""Validating a Compose file against the Compose Specification's JSON schema.

The schema is the compose-spec project's own, installed by `./moorage install` from an npm
package into `runtime/compose/schema/compose-spec.json` (see `package.json`); it is never
edited here. Errors name the file, the line (from the YAML nodes) and the dotted path.
"""

import json
import os

from runtime.compose.errors import ComposeError

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema",
                           "compose-spec.json")

_validator = None


def validator():
    global _validator
    if _validator is None:
        try:
            with open(SCHEMA_PATH, encoding="utf-8") as file:
                schema = json.load(file)
        except FileNotFoundError:
            raise ComposeError(f"the Compose Specification's schema is not installed "
                               f"({SCHEMA_PATH}): run ./moorage install") from None
        import jsonschema
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
        _validator = cls(schema)
    return _validator


def dotted(path) -> str:
    return ".".join(str(step) for step in path) or "(top level)"


MAX_CACHED = 2000


def validate(document, data, cache_dir: str | None = None) -> None:
    """Raise the first schema error of `data` (one file's interpolated data), located in
    `document`.

    With `cache_dir`, data found valid is remembered there by its digest and the schema's, so
    the same file is not validated again: importing jsonschema alone costs more than the
    rest of a `moor compose up` of a small project (it is imported only when a file is new).
    """
    stamp = None
    if cache_dir is not None:
        import hashlib
        digest = hashlib.sha256(_schema_digest().encode())
        digest.update(json.dumps(data, sort_keys=True, default=str).encode())
        stamp = os.path.join(cache_dir, digest.hexdigest())
        if os.path.exists(stamp):
            return
    _validate(document, data)
    if stamp is not None:
        _remember(cache_dir, stamp)


_schema_digest_value = None


def _schema_digest() -> str:
    global _schema_digest_value
    if _schema_digest_value is None:
        import hashlib
        try:
            with open(SCHEMA_PATH, "rb") as file:
                _schema_digest_value = hashlib.sha256(file.read()).hexdigest()
        except FileNotFoundError:
            validator()     # says the schema is not installed
    return _schema_digest_value


def _remember(cache_dir: str, stamp: str) -> None:
    if not os.path.isdir(os.path.dirname(os.path.dirname(cache_dir))):
        return          # no engine root yet: nothing is made for a cache
    try:
        os.makedirs(cache_dir, mode=0o700, exist_ok=True)
        entries = os.listdir(cache_dir)
        if len(entries) >= MAX_CACHED:     # a cache, not a record: start again
            for entry in entries:
                os.unlink(os.path.join(cache_dir, entry))
        with open(stamp, "w"):
            pass
    except OSError:
        pass            # a cache that cannot be written only costs time


def _validate(document, data) -> None:
    import jsonschema
    error = jsonschema.exceptions.best_match(validator().iter_errors(data))
    if error is None:
        return
    path = tuple(error.absolute_path)
    extra = _extra_property(error)
    if extra is not None:
        raise ComposeError(f"{document.where(path + (extra,))}: {dotted(path + (extra,))}: "
                           f"not a key the Compose Specification defines here")
    raise ComposeError(f"{document.where(path)}: {dotted(path)}: {_message(error)}")


def _extra_property(error):
    """The first key an `additionalProperties: false` error is about, if it is one."""
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return None
    import re
    known = set(error.schema.get("properties", {}))
    patterns = list(error.schema.get("patternProperties", {}))
    for key in error.instance:
        if key not in known and not any(re.search(p, str(key)) for p in patterns):
            return key
    return None


def _message(error) -> str:
    if error.validator in ("oneOf", "anyOf") and error.context:
        types = [sub.schema.get("type") for sub in error.context if sub.validator == "type"]
        if types:
            flat = sorted({t for item in types for t in ([item] if isinstance(item, str)
                                                          else item)})
            return f"must be {' or '.join(flat)}, not {_kind(error.instance)}"
    if error.validator == "type":
        wanted = error.validator_value
        wanted = " or ".join(wanted) if isinstance(wanted, list) else wanted
        return f"must be {wanted}, not {_kind(error.instance)}"
    return error.message


def _kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a sequence"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
