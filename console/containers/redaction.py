"""What of a container is shown to anyone who may see it: environment values never are (they
are where secrets live), on pages, in the API or in the audit log."""
import json

from console.audit.redact import redact_env


def redacted_inspect(data: dict) -> dict:
    """Engine inspect output with environment values hidden."""
    if not data:
        return {}
    clean = json.loads(json.dumps(data))
    config = clean.get("Config") or {}
    if isinstance(config.get("Env"), list):
        config["Env"] = redact_env(config["Env"])
    return clean
