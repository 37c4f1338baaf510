"""Commands for the store itself: init, info, backup, restore, staff and audit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mhtool.console.apps import make_subapp
from mhtool.domain.labels import columns, label
from mhtool.console.options import JsonOpt

staff_app = make_subapp()
audit_app = make_subapp()
settings_app = make_subapp()

KeyFileOpt = Annotated[
    Optional[Path],
    typer.Option("--key-file", help="Create a new key file (mode 0600) here for unattended jobs instead of a passphrase."),
]


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("info")(info)
    app.command("backup")(backup)
    app.command("restore")(restore)


def init(
    ctx: typer.Context,
    admin: Annotated[str, typer.Option("--admin", help="Staff name of the first admin.")],
    key_file: KeyFileOpt = None,
    timezone: Annotated[str, typer.Option("--timezone", help="The center's time zone (periods and due dates).")] = "Asia/Shanghai",
) -> None:
    """Create a new encrypted store with its first admin. Never overwrites an existing store.

    The admin's passphrase is asked twice on a terminal, or read from
    MHTOOL_PASSPHRASE_FILE; with --key-file a new key file is written instead.

    Example: mhtool --store /srv/mhtool/store.db init --admin wangli
    """
    from mhtool.console import output, session
    from mhtool.store.core import create_store

    st = session.settings(ctx)
    if st.store.exists():
        from mhtool.errors import StoreError

        raise StoreError(f"{st.store} already exists; mhtool never overwrites a store", hint="choose another --store path")
    credential = session.new_credential(key_file, who=admin, env_var="MHTOOL_PASSPHRASE_FILE")
    path = create_store(st.store, admin, credential, timezone_name=timezone)
    output.success(f"created store {path} with admin {admin}")
    if key_file:
        output.info(f"key file: {key_file} (keep it secret; MHTOOL_KEY_FILE={key_file} MHTOOL_USER={admin})")
    output.emit_line(str(path))


def info(ctx: typer.Context, json: JsonOpt = False) -> None:
    """Store path, schema version, staff count and record counts (no personal data, no key needed)."""
    from mhtool.console import output, session
    from mhtool.store.core import store_info

    facts = store_info(session.settings(ctx).store)
    if json:
        output.emit_json(facts)
        return
    rows = [{"k": k, "v": v} for k, v in facts.items() if k != "records"]
    rows += [{"k": f"records.{k}", "v": v} for k, v in facts["records"].items()]
    output.emit_table(rows, [("k", "item"), ("v", "value")], title="mhtool store")


def backup(ctx: typer.Context, out: Annotated[Path, typer.Argument(help="The backup file to create.")]) -> None:
    """Write an encrypted copy of the store (VACUUM INTO; safe while others work).

    Example: mhtool backup /mnt/backup/store-2026-11-23.db
    """
    from mhtool.console import output, session
    from mhtool.store import admin

    with session.open_store(ctx) as store:
        path = admin.backup(store, out)
    output.success(f"backup written: {path}")
    output.emit_line(str(path))


def restore(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="A backup made by `mhtool backup`.")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing store.")] = False,
) -> None:
    """Restore the store from a backup, after checking that the backup opens and is intact."""
    from mhtool.console import output, session
    from mhtool.store import admin

    st = session.settings(ctx)
    result = admin.restore(source, st.store, session.credential(st), st.user, force=force)
    output.success(f"restored {result['restored']} from {result['from']}")


# -- staff ------------------------------------------------------------------------------------


@staff_app.command("add")
def staff_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Staff name (login).")],
    role: Annotated[str, typer.Option("--role", help="admin, counselor, clerk or auditor.")],
    college: Annotated[Optional[list[str]], typer.Option("--college", help="Limit to this college (repeatable).")] = None,
    key_file: KeyFileOpt = None,
    standing_purpose: Annotated[
        Optional[str],
        typer.Option("--standing-purpose", help="For an unattended job's account: the purpose its identifiable exports are made for (audited with each)."),
    ] = None,
) -> None:
    """Add a staff member with their own key slot (admin only).

    The new member's passphrase is asked on a terminal, or read from
    MHTOOL_NEW_PASSPHRASE_FILE; --key-file creates a key file for cron jobs.

    Example: mhtool staff add cron --role clerk --key-file /etc/mhtool/cron.key --standing-purpose "每周一例行周报"
    """
    from mhtool.console import output, session
    from mhtool.store import admin

    with session.open_store(ctx) as store:
        store.require("staff", action="staff.add")
        credential = session.new_credential(key_file, who=name)
        admin.add_staff(store, name, role, credential, college or [], standing_purpose=standing_purpose)
    output.success(f"added {name} ({role})")


@staff_app.command("list")
def staff_list(ctx: typer.Context, json: JsonOpt = False) -> None:
    """List staff members, roles, college scopes and key-slot kinds."""
    from mhtool.console import output, session
    from mhtool.store import admin

    with session.open_store(ctx) as store:
        rows = admin.list_staff(store)
    if json:
        output.emit_json(rows)
        return
    for r in rows:
        r["role_label"] = label("role", r["role"])
    output.emit_table(
        rows,
        columns([("name", "staff_name"), ("role_label", "role"), ("colleges", "college_scope"), ("slots", "slots"), ("active", "active")]),
    )


@staff_app.command("passwd")
def staff_passwd(
    ctx: typer.Context,
    name: Annotated[Optional[str], typer.Argument(help="Whose slot (default: yourself; others need admin).")] = None,
    key_file: KeyFileOpt = None,
) -> None:
    """Change a passphrase (or issue a new key file); the master key is rewrapped, nothing re-encrypted."""
    from mhtool.console import output, session
    from mhtool.store import admin

    with session.open_store(ctx) as store:
        who = name or store.staff.name
        if who != store.staff.name:
            # Refuse before a key file is written or a passphrase asked for.
            store.require("staff", action="staff.passwd")
        credential = session.new_credential(key_file, who=who)
        admin.change_credential(store, credential, who)
    output.success(f"credential changed for {who}")


@staff_app.command("remove")
def staff_remove(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The staff member to remove.")]) -> None:
    """Remove a staff member: delete their slot and rotate the master key (re-encrypts everything, resumably)."""
    from mhtool.console import output, session
    from mhtool.store import admin

    with session.open_store(ctx) as store, output.progress(None, "re-encrypting") as advance:
        state = {"done": 0}

        def tick(done: int, total: int) -> None:
            advance(done - state["done"])
            state["done"] = done

        result = admin.remove_staff(store, name, progress=tick)
    output.success(f"removed {name}; master key is now generation {result['generation']} ({result['records_reencrypted']} records re-encrypted)")


@staff_app.command("rotate-key")
def staff_rotate(ctx: typer.Context) -> None:
    """Rotate the master key and re-encrypt every record; also resumes an interrupted rotation."""
    from mhtool.console import output, session
    from mhtool.store import admin

    with session.open_store(ctx) as store:
        result = admin.rotate_master_key(store)
    output.success(f"master key is now generation {result['generation']} ({result['records_reencrypted']} records re-encrypted)")


# -- audit ------------------------------------------------------------------------------------


@audit_app.command("log")
def audit_log(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", help="Only the last N entries (0 = all).")] = 50,
    json: JsonOpt = False,
) -> None:
    """Show audit entries: time, staff, action, target record ids (auditor or admin)."""
    from mhtool.console import output, session
    from mhtool.store import admin

    with session.open_store(ctx) as store:
        entries = admin.audit_entries(store, limit or None)
    if json:
        output.emit_json(entries)
        return
    for e in entries:
        e["target_list"] = ", ".join(e.get("targets") or [])[:80]
    output.emit_table(entries, [("seq", "#"), ("at", "time (UTC)"), ("staff", "staff"), ("action", "action"), ("target_list", "targets")])


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context,
    head: Annotated[Optional[str], typer.Option("--head", help="A head saved earlier with `mhtool audit head` (SEQ:MAC).")] = None,
    json: JsonOpt = False,
) -> None:
    """Recompute the audit chain and report the first broken entry (exit 1 when broken)."""
    from mhtool.console import output, session
    from mhtool.store import admin

    with session.open_store(ctx) as store:
        report = admin.verify_audit(store, head)
    if json:
        output.emit_json(report.as_dict())
    if report.ok:
        output.success(f"audit chain intact: {report.entries} entries")
        if not json:
            output.emit_line(f"ok {report.entries}")
        return
    output.error(f"audit chain broken at entry {report.broken_at}: {report.reason}", "restore from a backup and compare with a saved `audit head`")
    raise typer.Exit(1)


@audit_app.command("head")
def audit_head(ctx: typer.Context) -> None:
    """Print the chain's head (SEQ:MAC). Keep it outside the store to catch truncation or an old copy."""
    from mhtool.console import output, session
    from mhtool.store import admin

    with session.open_store(ctx) as store:
        output.emit_line(admin.audit_head(store))


# -- settings ---------------------------------------------------------------------------------


@settings_app.command("show")
def settings_show(ctx: typer.Context, json: JsonOpt = False) -> None:
    """Show the store's policies: screening policy overrides, follow-up cadence, purpose and retention rules."""
    from mhtool.console import output, session
    from mhtool.cases.usecases.service import cadence
    from mhtool.governance.usecases.exports import min_cell_size
    from mhtool.governance.usecases.purpose import purpose_roles
    from mhtool.governance.usecases.retention import retention_years

    with session.open_store(ctx) as store:
        effective = {
            "purpose_required_roles": list(purpose_roles(store)),
            "retention_years": retention_years(store),
            "research_min_cell": min_cell_size(store, None),
            "cadence": cadence(store),
            "screening_policy": store.setting("screening_policy") or {},
            "timezone": store.tz,
        }
    if json:
        output.emit_json(effective)
        return
    rows = [{"key": k, "value": v if isinstance(v, (str, int)) else output.to_json(v, indent=None)} for k, v in effective.items()]
    output.emit_table(rows, columns([("key", "setting"), ("value", "value")]))


@settings_app.command("set")
def settings_set(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="purpose_required_roles, retention_years or research_min_cell.")],
    value: Annotated[str, typer.Argument(help="Roles as a comma list (e.g. clerk,counselor; '' for none), or a whole number.")],
) -> None:
    """Change a governance policy (admin; audited).

    \b
    Examples:
      mhtool settings set purpose_required_roles clerk,counselor
      mhtool settings set retention_years 7
    """
    from mhtool.console import output, session
    from mhtool.governance.usecases.purpose import set_policy

    parsed: object = value
    if key == "purpose_required_roles":
        parsed = [r.strip() for r in value.split(",") if r.strip()]
    elif value.strip().lstrip("-").isdigit():
        parsed = int(value)
    with session.open_store(ctx) as store:
        result = set_policy(store, **{key: parsed})
    output.success(f"{key} = {result.get(key)}")


@settings_app.command("screening-policy")
def settings_screening_policy(
    ctx: typer.Context,
    file: Annotated[Optional[Path], typer.Argument(help="A TOML or JSON file of overrides, e.g. [phq9] orange = [{score = \"total\", min = 20}].")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Go back to the default policy of DESIGN.md.")] = False,
) -> None:
    """Replace the store's screening-policy overrides (admin; audited). New imports use it; stored results are not re-scored.

    A level given for an instrument replaces that level's rules; an empty list switches it off.
    """
    import json as jsonlib
    import tomllib

    from mhtool.console import output, session
    from mhtool.errors import InvalidInput, UsageError
    from mhtool.survey.domain.scoring import ScreeningPolicy

    if reset == (file is not None):
        raise UsageError("give either a policy FILE or --reset")
    overrides = None
    if file is not None:
        try:
            text = file.read_text("utf-8")
            overrides = tomllib.loads(text) if file.suffix.lower() == ".toml" else jsonlib.loads(text)
        except FileNotFoundError:
            raise InvalidInput(f"{file}: no such file") from None
        except (ValueError, tomllib.TOMLDecodeError) as exc:
            raise InvalidInput(f"{file}: not valid {'TOML' if file.suffix.lower() == '.toml' else 'JSON'} ({exc})") from None
        overrides = ScreeningPolicy(overrides).check().as_dict()
    with session.open_store(ctx) as store:
        store.require("staff", action="settings.screening-policy")
        with store.write("settings.screening-policy", details={"policy": overrides}) as txn:
            store.update_settings(txn, {"screening_policy": overrides})
    output.success("screening policy reset to the default" if reset else f"screening policy updated from {file}")
