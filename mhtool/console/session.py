"""Turning settings into credentials and an open store, for the command layer."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import typer

from mhtool.console import config, prompts
from mhtool.errors import AuthenticationFailed, UsageError


def settings(ctx: typer.Context | None = None) -> config.Settings:
    if ctx is not None:
        root = ctx.find_root()
        if isinstance(root.obj, config.Settings):
            return root.obj
    return config.resolve()


def _read_secret_file(path: Path, variable: str) -> str:
    from mhtool.console import output

    try:
        mode = path.stat().st_mode
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise AuthenticationFailed(f"{variable} names {path}, which does not exist") from None
    except OSError as exc:
        raise AuthenticationFailed(f"cannot read {variable} file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        output.warn(f"{path} can be read by other users; restrict it with `chmod 600 {path}`")
    secret = text.rstrip("\r\n")
    if not secret:
        raise AuthenticationFailed(f"{variable} file {path} is empty")
    return secret


def credential(st: config.Settings):
    """The credential of the person running the command (never from the command line)."""
    from mhtool.store import crypto

    if st.key_file:
        return crypto.Credential(key_material=crypto.read_key_file(st.key_file), source=f"MHTOOL_KEY_FILE ({st.key_file})")
    if st.passphrase_file:
        return crypto.Credential(passphrase=_read_secret_file(st.passphrase_file, "MHTOOL_PASSPHRASE_FILE"), source="MHTOOL_PASSPHRASE_FILE")
    if prompts.is_interactive():
        who = f" for {st.user}" if st.user else ""
        return crypto.Credential(passphrase=prompts.secret(f"口令 / passphrase{who}:"), source="the prompt")
    raise AuthenticationFailed(
        "no credential: not on a terminal and neither MHTOOL_KEY_FILE nor MHTOOL_PASSPHRASE_FILE is set",
        hint="set MHTOOL_KEY_FILE=PATH (a key-file slot) or MHTOOL_PASSPHRASE_FILE=PATH, and MHTOOL_USER=NAME",
    )


def new_credential(key_file: Path | None, *, who: str, env_var: str = "MHTOOL_NEW_PASSPHRASE_FILE"):
    """The credential for a new key slot: a freshly generated key file, or a passphrase set now."""
    from mhtool.store import crypto

    if key_file is not None:
        if key_file.exists():
            raise UsageError(f"--key-file {key_file} already exists; mhtool writes a new key file and never overwrites one")
        material = crypto.write_key_file(key_file)
        return crypto.Credential(key_material=material, source=str(key_file))
    path = os.environ.get(env_var)
    if path:
        secret = _read_secret_file(Path(path), env_var)
    elif prompts.is_interactive():
        secret = prompts.secret(f"为 {who} 设置口令 / new passphrase for {who}:", confirm=True)
    else:
        raise UsageError(
            f"no passphrase for {who}: not on a terminal",
            hint=f"pass --key-file PATH to create a key file, or set {env_var}=PATH",
        )
    if len(secret) < 10:
        raise UsageError("a passphrase needs at least 10 characters")
    return crypto.Credential(passphrase=secret, source=env_var if path else "the prompt")


def open_store(ctx: typer.Context | None = None, *, readonly: bool = False):
    from mhtool.store.core import Store

    st = settings(ctx)
    return Store.open(st.store, credential(st), st.user, readonly=readonly)


def open_center(ctx: typer.Context | None = None, *, readonly: bool = False):
    """The use-case layer, opened as the person running the command."""
    from mhtool.app.center import Center

    st = settings(ctx)
    return Center.open(st.store, credential(st), st.user, readonly=readonly)
