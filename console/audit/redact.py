"""Secrets never reach the audit log: env values, passwords, tokens, keys."""

REDACTED = "[redacted]"
SECRET_WORDS = ("password", "secret", "token", "key", "credential", "authorization")


def redact(params):
    """A copy of `params` with secret values replaced. `env` keeps names, drops values."""
    if isinstance(params, dict):
        clean = {}
        for name, value in params.items():
            lowered = str(name).lower()
            if lowered == "env":
                clean[name] = redact_env(value)
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
