"""The Docker image and the compose file, read as Docker reads them, so the
tests can run their commands on this machine (no Docker engine here): the
Dockerfile's instructions with its ENV, and each compose service's command
with exactly the environment compose gives its container."""

import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKDIR = "/app"  # the image's WORKDIR: the checkout plays it here
# What python:3.11-slim sets before our Dockerfile adds anything.
BASE_IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def dockerfile_stages(text: str) -> list[list[tuple[str, str]]]:
    """Instructions (NAME, arguments) by stage, line continuations joined."""
    joined = re.sub(r"\\\n", " ", text)
    stages: list[list[tuple[str, str]]] = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, arguments = line.partition(" ")
        if name.upper() == "FROM":
            stages.append([])
        stages[-1].append((name.upper(), arguments.strip()))
    return stages


def image_environment(stage: list[tuple[str, str]]) -> dict[str, str]:
    """The final stage's ENV, with `$VAR` expanded as Docker does and the
    image's /app standing for the checkout."""
    env = {"PATH": BASE_IMAGE_PATH}
    for name, arguments in stage:
        if name != "ENV":
            continue
        for pair in shlex.split(arguments):
            key, _, value = pair.partition("=")
            value = re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), ""), value)
            env[key] = value.replace(WORKDIR, str(ROOT))
    return env


def interpolate(value, variables: dict[str, str]):
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR-default}`."""
    if isinstance(value, dict):
        return {k: interpolate(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, variables) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        name, colon, default = match.group(1), match.group(2), match.group(3)
        if name in variables and (variables[name] or not colon):
            return variables[name]
        return default or ""

    return re.sub(r"\$\{(\w+)(?:(:?)-([^}]*))?\}", substitute, value)


def compose_services(variables: dict[str, str] | None = None) -> dict[str, dict]:
    """docker-compose.yml's services, anchors merged and `${...}` substituted
    from `variables` (the shell compose runs in; none by default)."""
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return interpolate(document["services"], variables or {})


def moved_url(url: str, netloc_to: str, path_to: str | None = None) -> str:
    """`url` pointed at another server (and database), credentials kept."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@{netloc_to}" if credentials else netloc_to
    return urlunsplit(parts._replace(netloc=netloc, path=path_to or parts.path))
