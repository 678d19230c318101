"""Tutor plugin "webhookreceiver": runs webhook-receiver next to Open edX.

It replaces tutor-contrib-webhook-receiver (the Django app's plugin, same
plugin name): every WEBHOOKRECEIVER_* setting of that plugin keeps its name
and meaning, and the settings that only made sense for Django are accepted
and ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import typing as t
from glob import glob
from pathlib import Path
from urllib.parse import quote

import jinja2
import yaml
from tutor import exceptions, hooks

from . import __version__

HERE = Path(__file__).resolve().parent

# Where the image keeps its data, and where the YAML configuration is mounted.
DATA_DIR = "/var/lib/webhook-receiver"
CONFIG_FILE = "/etc/webhook-receiver/config.yml"


def _checkout() -> str:
    """The repository this package was installed from with "pip install -e",
    whose Dockerfile builds the image; "" when installed from elsewhere."""
    root = HERE.parents[2]
    go_mod = root / "go.mod"
    if go_mod.is_file() and go_mod.read_text(encoding="utf-8").startswith(
        "module github.com/openedx-webhook-receiver/webhook-receiver"
    ):
        return str(root)
    return ""


hooks.Filters.CONFIG_UNIQUE.add_items(
    [("WEBHOOKRECEIVER_EDX_OAUTH2_SECRET", "{{ 32|random_string }}")]
)
hooks.Filters.CONFIG_DEFAULTS.add_items(
    [
        # The old plugin's settings: same names, same meaning.
        ("WEBHOOKRECEIVER_HOST", "webhooks.{{ LMS_HOST }}"),
        (
            "WEBHOOKRECEIVER_LMS_ROOT_URL",
            "{{ 'https' if ENABLE_HTTPS else 'http' }}://{{ LMS_HOST }}",
        ),
        ("WEBHOOKRECEIVER_EDX_OAUTH2_KEY", "webhook_receiver"),
        ("WEBHOOKRECEIVER_SHOPIFY_SHOP_DOMAIN", ""),
        ("WEBHOOKRECEIVER_SHOPIFY_API_KEY", ""),
        ("WEBHOOKRECEIVER_WOOCOMMERCE_SOURCE", ""),
        ("WEBHOOKRECEIVER_WOOCOMMERCE_SECRET", ""),
        ("WEBHOOKRECEIVER_WOOCOMMERCE_REQUIRE_PAYMENT", ""),
        ("WEBHOOKRECEIVER_DJANGO_LOG_LEVEL", "INFO"),
        (
            "WEBHOOKRECEIVER_DOCKER_IMAGE",
            "{{ DOCKER_REGISTRY }}webhook-receiver:" + __version__,
        ),
        # What webhook-receiver adds.
        ("WEBHOOKRECEIVER_DATABASE_URL", f"sqlite:{DATA_DIR}/webhook-receiver.db"),
        ("WEBHOOKRECEIVER_CONFIG", {}),
        ("WEBHOOKRECEIVER_ADMIN_PASSWORD_HASH", ""),
        ("WEBHOOKRECEIVER_SKU_PREFIX", ""),
        ("WEBHOOKRECEIVER_AUTO_ENROLL", True),
        ("WEBHOOKRECEIVER_SEND_ENROLLMENT_EMAIL", True),
        ("WEBHOOKRECEIVER_TRUSTED_PROXIES", "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"),
        ("WEBHOOKRECEIVER_REPLICAS", 1),
        ("WEBHOOKRECEIVER_ON_LMS_HOST", True),
        ("WEBHOOKRECEIVER_BUILD_CONTEXT", _checkout()),
    ]
)


def _text(value: t.Any) -> str:
    return "" if value is None else str(value)


def _bool(value: t.Any) -> str:
    """Tutor's YAML booleans as true/false; strings pass through for the
    service to check ("" leaves its default)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _text(value).strip()


# Django's level names (the old plugin's DJANGO_LOG_LEVEL) to ours.
_LOG_LEVELS = {"warning": "warn", "critical": "error", "fatal": "error"}


def _log_level(value: t.Any) -> str:
    level = _text(value).strip().lower()
    return _LOG_LEVELS.get(level, level)


# The service's environment: our variable, the Tutor setting (without its
# WEBHOOKRECEIVER_ prefix) that gives it, and how its value is written. An
# empty value is left out, so the service's default applies.
ENVIRONMENT = [
    ("WEBHOOK_RECEIVER_DATABASE_URL", "DATABASE_URL", _text),
    ("WEBHOOK_RECEIVER_LMS_BASE_URL", "LMS_ROOT_URL", _text),
    ("WEBHOOK_RECEIVER_OAUTH2_KEY", "EDX_OAUTH2_KEY", _text),
    ("WEBHOOK_RECEIVER_OAUTH2_SECRET", "EDX_OAUTH2_SECRET", _text),
    ("WEBHOOK_RECEIVER_SKU_PREFIX", "SKU_PREFIX", _text),
    ("WEBHOOK_RECEIVER_AUTO_ENROLL", "AUTO_ENROLL", _bool),
    ("WEBHOOK_RECEIVER_SEND_ENROLLMENT_EMAIL", "SEND_ENROLLMENT_EMAIL", _bool),
    ("WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN", "SHOPIFY_SHOP_DOMAIN", _text),
    ("WEBHOOK_RECEIVER_SHOPIFY_SECRET", "SHOPIFY_API_KEY", _text),
    ("WEBHOOK_RECEIVER_WOOCOMMERCE_SOURCE", "WOOCOMMERCE_SOURCE", _text),
    ("WEBHOOK_RECEIVER_WOOCOMMERCE_SECRET", "WOOCOMMERCE_SECRET", _text),
    ("WEBHOOK_RECEIVER_WOOCOMMERCE_REQUIRE_PAYMENT", "WOOCOMMERCE_REQUIRE_PAYMENT", _bool),
    ("WEBHOOK_RECEIVER_LOG_LEVEL", "DJANGO_LOG_LEVEL", _log_level),
    ("WEBHOOK_RECEIVER_ADMIN_PASSWORD_HASH", "ADMIN_PASSWORD_HASH", _text),
    ("WEBHOOK_RECEIVER_TRUSTED_PROXIES", "TRUSTED_PROXIES", _text),
]


@jinja2.pass_context
def webhookreceiver_environment(context: t.Any) -> dict[str, str]:
    """The environment of the service and its job, from the configuration."""
    env = {}
    for name, key, write in ENVIRONMENT:
        value = write(context["WEBHOOKRECEIVER_" + key])
        if value != "":
            env[name] = value
    if context["WEBHOOKRECEIVER_CONFIG"]:
        env["WEBHOOK_RECEIVER_CONFIG"] = CONFIG_FILE
    # The image's TMPDIR is its data folder, which only SQLite mounts.
    env["TMPDIR"] = "/tmp"
    return env


@jinja2.pass_context
def webhookreceiver_old_database(context: t.Any) -> str:
    """The old plugin's MySQL database, as import-django's --from URL, while
    its settings are in config.yml (WEBHOOKRECEIVER_DB_PASSWORD was generated
    there); "" once they are removed."""
    password = context.get("WEBHOOKRECEIVER_DB_PASSWORD")
    if password is None:
        return ""
    user = context.get("WEBHOOKRECEIVER_DB_USER") or "webhook_receiver01"
    name = context.get("WEBHOOKRECEIVER_DB_NAME") or "webhook_receiver"
    q = lambda value: quote(_text(value), safe="")
    return f"mysql://{q(user)}:{q(password)}@{context['MYSQL_HOST']}:{context['MYSQL_PORT']}/{q(name)}"


def _env_yaml(env: dict[str, str], compose: bool = False) -> str:
    """A YAML mapping, one quoted value a line; docker compose would expand
    "$" (bcrypt hashes, WooCommerce secrets hold some), so it gets "$$"."""
    lines = []
    for name, value in env.items():
        quoted = json.dumps(value)
        lines.append(f"{name}: {quoted.replace('$', '$$') if compose else quoted}")
    return "\n".join(lines)


def _yaml(value: t.Any) -> str:
    return yaml.safe_dump(value, default_flow_style=False, sort_keys=False)


def _checksum(*values: t.Any) -> str:
    """Changes when the settings change, so that Kubernetes restarts the pods."""
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


hooks.Filters.ENV_TEMPLATE_VARIABLES.add_items(
    [
        ("webhookreceiver_environment", webhookreceiver_environment),
        ("webhookreceiver_old_database", webhookreceiver_old_database),
    ]
)
hooks.Filters.ENV_TEMPLATE_FILTERS.add_items(
    [
        ("webhookreceiver_env_yaml", _env_yaml),
        ("webhookreceiver_yaml", _yaml),
        ("webhookreceiver_checksum", _checksum),
        ("webhookreceiver_shquote", lambda value: shlex.quote(_text(value))),
    ]
)


@hooks.Actions.CONFIG_LOADED.add()
def _check_replicas(config: dict[str, t.Any]) -> None:
    """Several replicas need PostgreSQL: one process owns a SQLite file."""
    replicas = config.get("WEBHOOKRECEIVER_REPLICAS", 1)
    try:
        replicas = int(replicas)
    except (TypeError, ValueError):
        raise exceptions.TutorError(
            f"WEBHOOKRECEIVER_REPLICAS must be a number, got {replicas!r}"
        )
    url = _text(config.get("WEBHOOKRECEIVER_DATABASE_URL"))
    if replicas > 1 and url.startswith("sqlite:"):
        raise exceptions.TutorError(
            f"WEBHOOKRECEIVER_REPLICAS is {replicas} but WEBHOOKRECEIVER_DATABASE_URL is SQLite: "
            "several replicas need PostgreSQL (set WEBHOOKRECEIVER_DATABASE_URL=postgres://...)"
        )


# Init tasks, in order: in the LMS, the service user and its OAuth2
# application; in our job, the migrations, the import of the old app's
# history while its database is configured, and a check of the whole setup.
for _service in ("lms", "webhookreceiver"):
    _task = HERE / "templates" / "webhookreceiver" / "tasks" / _service / "init"
    hooks.Filters.CLI_DO_INIT_TASKS.add_item(
        (_service, _task.read_text(encoding="utf-8"))
    )


@hooks.Filters.IMAGES_BUILD.add()
def _build_image(images: list[t.Any], config: dict[str, t.Any]) -> list[t.Any]:
    """The image is built from the repository's Dockerfile, at its root."""
    context = _text(config.get("WEBHOOKRECEIVER_BUILD_CONTEXT"))
    if context:
        images.append(
            (
                "webhookreceiver",
                os.path.abspath(os.path.expanduser(context)),
                "{{ WEBHOOKRECEIVER_DOCKER_IMAGE }}",
                (),
            )
        )
    return images


hooks.Filters.IMAGES_PULL.add_item(("webhookreceiver", "{{ WEBHOOKRECEIVER_DOCKER_IMAGE }}"))
hooks.Filters.IMAGES_PUSH.add_item(("webhookreceiver", "{{ WEBHOOKRECEIVER_DOCKER_IMAGE }}"))

hooks.Filters.ENV_TEMPLATE_ROOTS.add_item(str(HERE / "templates"))
hooks.Filters.ENV_TEMPLATE_TARGETS.add_item(("webhookreceiver/apps", "plugins"))

for _path in sorted(glob(str(HERE / "patches" / "*"))):
    with open(_path, encoding="utf-8") as _patch:
        hooks.Filters.ENV_PATCHES.add_item((os.path.basename(_path), _patch.read()))
