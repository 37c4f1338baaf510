"""Turning settings into credentials and an open store, for the command layer."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import typer

from mhtool.console import config, prompts
from mhtool.errors import AuthenticationFailed, UsageError
from mhtool.i18n import _


def settings(ctx: typer.Context | None = None) -> config.Settings:
    if ctx is not None:
        root = ctx.find_root()
        if isinstance(root.obj, config.Settings):
            return root.obj
    return config.resolve()


def _read_credential_file(path: Path, variable: str) -> bytes:
    """The bytes of a passphrase or key file (see :func:`mhtool.store.crypto.read_secret_file`); one that group or others may read is used, with a warning."""
    from mhtool.console import output
    from mhtool.store import crypto

    data, mode = crypto.read_secret_file(path, variable)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        output.warn(_("{path} can be read by other users; restrict it with `chmod 600 {path}`").format(path=path))
    return data


def _read_secret_file(path: Path, variable: str) -> str:
    data = _read_credential_file(path, variable)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise AuthenticationFailed(
            _("the {variable} file {path} is not UTF-8 text").format(variable=variable, path=path),
            hint=_("save the passphrase as UTF-8 text (one line)"),
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]  # a byte-order mark some editors write
    secret = text.rstrip("\r\n")
    if not secret:
        raise AuthenticationFailed(_("{variable} file {path} is empty").format(variable=variable, path=path))
    return secret


def _read_key_file(path: Path) -> bytes:
    """The key material of the MHTOOL_KEY_FILE, as :func:`mhtool.store.crypto.write_key_file` writes it."""
    from mhtool.store import crypto

    return crypto.key_material(_read_credential_file(path, "MHTOOL_KEY_FILE"), path, "MHTOOL_KEY_FILE")


def credential(st: config.Settings, *, agent: bool = True):
    """The credential of the person running the command (never from the command line).

    ``agent``: ask the unlock agent (`mhtool unlock`) before the prompt; `mhtool unlock` itself does not.
    """
    from mhtool.store import crypto

    if st.key_file:
        return crypto.Credential(key_material=_read_key_file(st.key_file), source=f"MHTOOL_KEY_FILE ({st.key_file})")
    if st.passphrase_file:
        return crypto.Credential(passphrase=_read_secret_file(st.passphrase_file, "MHTOOL_PASSPHRASE_FILE"), source="MHTOOL_PASSPHRASE_FILE")
    if agent and st.user:
        from mhtool.store import agent as unlock_agent

        unlocked = unlock_agent.credential(st.store, st.user)
        if unlocked is not None:
            return unlocked
    if prompts.is_interactive():
        question = _("Passphrase for {user}:").format(user=st.user) if st.user else _("Passphrase:")
        return crypto.Credential(passphrase=prompts.secret(question), source="the prompt")
    raise AuthenticationFailed(
        _("no credential: not on a terminal and neither MHTOOL_KEY_FILE nor MHTOOL_PASSPHRASE_FILE is set"),
        hint=_("set MHTOOL_KEY_FILE=PATH (a key-file slot) or MHTOOL_PASSPHRASE_FILE=PATH, and MHTOOL_USER=NAME"),
    )


def new_credential(key_file: Path | None, *, who: str, env_var: str = "MHTOOL_NEW_PASSPHRASE_FILE"):
    """The credential for a new key slot: a freshly generated key file, or a passphrase set now."""
    from mhtool.store import crypto

    if key_file is not None:
        if key_file.exists() or key_file.is_symlink():
            raise UsageError(_("--key-file {path} already exists; mhtool writes a new key file and never overwrites one").format(path=key_file))
        try:
            # Created with O_EXCL and mode 0600: never through a link, never readable by others.
            material = crypto.write_key_file(key_file)
        except FileExistsError:
            raise UsageError(_("--key-file {path} already exists; mhtool writes a new key file and never overwrites one").format(path=key_file)) from None
        except OSError as exc:
            raise UsageError(
                _("--key-file {path}: cannot create it ({problem})").format(path=key_file, problem=exc.strerror or exc),
                hint=_("check that its folder exists and is writable"),
            ) from None
        return crypto.Credential(key_material=material, source=str(key_file))
    path = os.environ.get(env_var)
    if path:
        secret = _read_secret_file(Path(path), env_var)
    elif prompts.is_interactive():
        secret = prompts.secret(_("New passphrase for {who}:").format(who=who), confirm=True)
    else:
        raise UsageError(
            _("no passphrase for {who}: not on a terminal").format(who=who),
            hint=_("pass --key-file PATH to create a key file, or set {variable}=PATH").format(variable=env_var),
        )
    if len(secret) < 10:
        raise UsageError(_("a passphrase needs at least 10 characters"))
    return crypto.Credential(passphrase=secret, source=env_var if path else "the prompt")


def open_center(ctx: typer.Context | None = None, *, readonly: bool = False):
    """The use-case layer, opened as the person running the command."""
    from mhtool.app.center import Center

    st = settings(ctx)
    center = Center.open(st.store, credential(st), st.user, readonly=readonly)
    _warn_of_tampering(center.tampering)
    return center


def _warn_of_tampering(found: list[str]) -> None:
    """Every command says so while the staff directory or key slots hold changes made outside mhtool."""
    if not found:
        return
    from mhtool.console import output

    for line in found[:5]:
        output.warn(_("tampering: {finding}").format(finding=line))
    if len(found) > 5:
        output.warn(_("tampering: and {count} more").format(count=len(found) - 5))
    output.warn(_("an admin should run `mhtool audit verify --deep`; `mhtool staff rotate-key` drops untrusted key slots"))
