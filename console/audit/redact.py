"""Secrets never reach the audit log: env values (also those a commit's `ENV` changes set),
build-argument values, passwords, tokens, keys."""
import shlex

REDACTED = "[redacted]"
SECRET_WORDS = ("password", "secret", "token", "key", "credential", "authorization")


def redact(params):
    """A copy of `params` with secret values replaced. `env` and `build_args` keep names, drop
    values."""
    if isinstance(params, dict):
        clean = {}
        for name, value in params.items():
            lowered = str(name).lower()
            if lowered in ("env", "build_args"):
                clean[name] = redact_env(value)
            elif lowered == "changes" and isinstance(value, (list, tuple)):
                clean[name] = [redact_change(item) for item in value]
            elif any(word in lowered for word in SECRET_WORDS):
                clean[name] = REDACTED
            else:
                clean[name] = redact(value)
        return clean
    if isinstance(params, (list, tuple)):
        return [redact(item) for item in params]
    return params


def redact_env(env):
    if isinstance(env, dict):
        return {name: REDACTED for name in env}
    if isinstance(env, (list, tuple)):
        return [f"{str(item).split('=', 1)[0]}={REDACTED}" for item in env]
    return REDACTED


def redact_change(change):
    """`ENV A=1 B="x y"` -> `ENV A=[redacted] B=[redacted]`; other instructions unchanged."""
    text = str(change).strip()
    instruction, _, value = text.partition(" ")
    if instruction.upper() != "ENV":
        return change
    try:
        tokens = shlex.split(value)
    except ValueError:
        return f"{instruction} {REDACTED}"
    if tokens and "=" not in tokens[0]:          # the legacy `ENV NAME value`
        return f"{instruction} {tokens[0]}={REDACTED}"
    return " ".join([instruction] + [f"{t.split('=', 1)[0]}={REDACTED}" for t in tokens])
