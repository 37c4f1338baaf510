"""Commands for the store itself: init, info, backup, restore, staff and audit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mhtool.console.apps import make_subapp
from mhtool.console.options import JsonOpt, checked
from mhtool.i18n import _

staff_app = make_subapp()
audit_app = make_subapp()
settings_app = make_subapp()

DisplayNameOpt = Annotated[
    Optional[str],
    typer.Option("--display-name", help="The name reports print for this member (负责咨询师, 记录人), e.g. --display-name 张华."),
]
KeyFileOpt = Annotated[
    Optional[Path],
    typer.Option("--key-file", help="Create a new key file (mode 0600) here for unattended jobs instead of a passphrase."),
]


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("info")(info)
    app.command("backup")(backup)
    app.command("restore")(restore)
    app.command("check")(check)
    app.command("upgrade")(upgrade)
    app.command("unlock")(unlock)
    app.command("lock")(lock)


def _parse_timezone(value: str) -> None:
    from zoneinfo import ZoneInfo

    from mhtool.errors import UsageError

    try:
        ZoneInfo(value)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise UsageError(_("--timezone {value!r} is not a time zone").format(value=value), hint=_("an IANA name, e.g. Asia/Shanghai")) from None


def init(
    ctx: typer.Context,
    admin: Annotated[str, typer.Option("--admin", help="Staff name of the first admin.")],
    key_file: KeyFileOpt = None,
    timezone: Annotated[str, typer.Option("--timezone", callback=checked(_parse_timezone), help="The center's time zone (periods and due dates).")] = "Asia/Shanghai",
) -> None:
    """Create a new encrypted store with its first admin. Never overwrites an existing store.

    The admin's passphrase is asked twice on a terminal, or read from
    MHTOOL_PASSPHRASE_FILE; with --key-file a new key file is written instead.

    Example: mhtool --store /srv/mhtool/store.db init --admin wangli
    """
    from mhtool.admin.usecases.api import Admin
    from mhtool.console import output, session

    st = session.settings(ctx)
    if st.store.exists():
        from mhtool.errors import StoreError

        raise StoreError(_("{path} already exists; mhtool never overwrites a store").format(path=st.store), hint=_("choose another --store path"))
    credential = session.new_credential(key_file, who=admin, env_var="MHTOOL_PASSPHRASE_FILE")
    path = Admin.create_store(st.store, admin, credential, timezone_name=timezone)
    output.success(_("created store {path} with admin {admin}").format(path=path, admin=admin))
    if key_file:
        output.info(_("key file: {key_file} (keep it secret; MHTOOL_KEY_FILE={key_file} MHTOOL_USER={admin})").format(key_file=key_file, admin=admin))
    output.emit_line(str(path))


def info(ctx: typer.Context, json: JsonOpt = False) -> None:
    """Store path, schema version, staff count and record counts (no personal data, no key needed)."""
    from mhtool.admin.usecases.api import Admin
    from mhtool.console import output, session

    facts = Admin.store_info(session.settings(ctx).store)
    if json:
        output.emit_json(facts)
        return
    from mhtool.admin.domain.store_view import info_items
    from mhtool.domain.labels import columns
    from mhtool.i18n import in_language

    shown = in_language(None)
    rows = [{"k": k, "v": v} for k, v in info_items(facts, shown)]
    output.emit_table(rows, columns([("k", "item"), ("v", "value")], shown), title="mhtool store")


def backup(ctx: typer.Context, out: Annotated[Path, typer.Argument(help="The backup file to create.")]) -> None:
    """Write an encrypted copy of the store (VACUUM INTO; safe while others work).

    Example: mhtool backup /mnt/backup/store-2026-11-23.db
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        path = center.admin.backup(out)
    output.success(_("backup written: {path}").format(path=path))
    output.emit_line(str(path))


def restore(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="A backup made by `mhtool backup`.")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing store.")] = False,
    reenable_removed: Annotated[
        bool, typer.Option("--reenable-removed", help="Restore a backup older than the store even though it gives back access to staff removed since.")
    ] = False,
) -> None:
    """Restore the store from a backup, after checking that the backup opens and is intact.

    A backup from before a `staff remove` would let the removed member in
    again; it is refused unless --reenable-removed is given, and then the
    names are listed so they can be removed again.

    Example: mhtool restore /backup/store-2026-11-30.db --force
    """
    from mhtool.admin.usecases.api import Admin
    from mhtool.console import output, session

    st = session.settings(ctx)
    # Not through an open store: the store being replaced may be damaged or gone.
    result = Admin.restore_store(source, st.store, session.credential(st), st.user, force=force, reenable_removed=reenable_removed)
    output.success(_("restored {store} from {backup}").format(store=result["restored"], backup=result["from"]))
    if result["reenabled"]:
        output.warn(_("access given back to staff removed since the backup: {names}").format(names=", ".join(result["reenabled"])))
        output.warn(_("remove them again with `mhtool staff remove NAME`"))


def upgrade(ctx: typer.Context) -> None:
    """Upgrade a store written by an earlier mhtool (one key for every role) to keys per role (admin, once).

    Each staff member's first key slot keeps working (their passphrase or key
    file); a second slot of theirs, which held a key of its own, is dropped and
    listed, and is issued again with `mhtool staff passwd`. A copy of the
    store as it was is written beside it (STORE.format1-backup) first; the
    upgrade itself is one transaction.

    Example: MHTOOL_USER=wangli mhtool upgrade
    """
    from mhtool.admin.usecases.api import Admin
    from mhtool.console import output, session

    st = session.settings(ctx)
    result = Admin.upgrade_store(st.store, session.credential(st), st.user)
    output.success(
        _("upgraded {store}: {count} records re-sealed with keys per role (generation {generation})").format(
            store=result["store"], count=sum(result["records"].values()), generation=result["generation"]
        )
    )
    for who in result["slots_not_kept"]:
        output.warn(_("a second key slot of {who} was not kept: issue it again with `mhtool staff passwd {who}` (as an admin)").format(who=who))
    output.info(_("the store as it was: {backup} (remove it once you have checked the upgrade with `mhtool check`)").format(backup=result["backup"]))


def check(
    ctx: typer.Context,
    head_file: Annotated[
        Optional[Path],
        typer.Option("--head-file", help="Keep the audit chain's head in this file (outside the store): compare with it, then update it."),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """The weekly integrity check: the audit chain, every record against its last recorded version, SQLite's own check.

    Exit 0 and silent when everything matches (a summary on a terminal, the
    report with --json), 1 with one line per problem (table and record)
    otherwise, so cron mails only problems. Needs no record key: an
    auditor's key file is enough for a cron job.

    Example: mhtool check --head-file /var/lib/mhtool/audit.head
    """
    from mhtool.console import output, session

    saved = head_file.read_text(encoding="utf-8").strip() if head_file is not None and head_file.is_file() else None
    with session.open_center(ctx) as center:
        report = center.admin.audit_verify(saved or None, deep=True)
        head = center.admin.audit_head() if report.ok else None
    _report_deep(report, json, quiet=True)
    if head_file is not None and head:
        tmp = head_file.with_name(head_file.name + ".tmp")
        tmp.write_text(head + "\n", encoding="utf-8")
        tmp.replace(head_file)


def _report_deep(report, json: bool, *, quiet: bool = False) -> None:
    """The deep check's verdict; ``quiet``: nothing on success outside a terminal, so cron mails only problems."""
    from mhtool.console import output

    if json:
        output.emit_json(report.as_dict())
    if report.ok:
        summary = _("audit chain intact: {entries} entries; {records} records match their last recorded version").format(
            entries=report.entries, records=report.records_checked
        )
        if quiet:
            output.done(summary)
            return
        output.success(summary)
        if not json:
            output.emit_line(f"ok {report.entries} {report.records_checked}")
        return
    if report.problems:
        output.problems(report.problems)
        output.error(_("{count} problem(s) found").format(count=len(report.problems)), _("restore from a backup; keep the store as it is for inspection"))
    else:
        output.error(
            _("audit chain broken at entry {entry}: {reason}").format(entry=report.broken_at, reason=report.reason),
            _("restore from a backup and compare with a saved `audit head`"),
        )
    raise typer.Exit(1)


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
    display_name: DisplayNameOpt = None,
) -> None:
    """Add a staff member with their own key slot (admin only).

    The new member's passphrase is asked on a terminal, or read from
    MHTOOL_NEW_PASSPHRASE_FILE; --key-file creates a key file for cron jobs.
    Reports print the --display-name (the login name until one is given).

    Example: mhtool staff add zhanghua --role counselor --display-name 张华

    Example: mhtool staff add cron --role clerk --key-file /etc/mhtool/cron.key --standing-purpose "每周一例行周报"
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        added = center.admin.staff_add(
            name, role, lambda: session.new_credential(key_file, who=name), college or [], standing_purpose=standing_purpose,
            display_name=display_name,
        )
    if added["display_name"] != added["name"]:
        output.success(_("added {name} ({role}) as {display_name}").format(name=name, role=role, display_name=added["display_name"]))
    else:
        output.success(_("added {name} ({role})").format(name=name, role=role))


@staff_app.command("edit")
def staff_edit(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The staff member's login name.")],
    display_name: DisplayNameOpt = None,
) -> None:
    """Change a staff member's display name, the name reports print for them (admin only; audited).

    Example: mhtool staff edit zhanghua --display-name 张华
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        edited = center.admin.staff_edit(name, display_name=display_name)
    output.success(_("{name} is now shown as {display_name}").format(name=name, display_name=edited["display_name"]))


@staff_app.command("list")
def staff_list(ctx: typer.Context, json: JsonOpt = False) -> None:
    """List staff members, roles, college scopes and key-slot kinds."""
    from mhtool.console import output, session
    from mhtool.domain.labels import columns, label, text

    with session.open_center(ctx) as center:
        rows = center.admin.staff_list()
    if json:
        output.emit_json(rows)
        return
    from mhtool.i18n import in_language

    shown = in_language(None)
    for r in rows:
        r["role_label"] = label("role", r["role"], shown)
        r["active_label"] = label("answer", "yes" if r["active"] else "no", shown)
        r["slot_labels"] = text("list_separator", shown).join(label("slot_kind", kind, shown) for kind in r["slots"])
        r["college_list"] = text("list_separator", shown).join(r["colleges"])
    output.emit_table(
        rows,
        columns([("name", "staff_name"), ("display_name", "display_name"), ("role_label", "role"), ("college_list", "college_scope"), ("slot_labels", "slots"), ("active_label", "active")], shown),
    )


@staff_app.command("passwd")
def staff_passwd(
    ctx: typer.Context,
    name: Annotated[Optional[str], typer.Argument(help="Whose slot (default: yourself; others need admin).")] = None,
    key_file: KeyFileOpt = None,
) -> None:
    """Change a passphrase (or issue a new key file); nothing is re-encrypted.

    Your own: your key is wrapped under the new passphrase or key file, and
    your other slots keep working. Someone else's (an admin resetting a
    forgotten passphrase): they get a new key and this one slot; their other
    slots stop working.

    Example: mhtool staff passwd

    Example: mhtool staff passwd zhanghua --key-file /etc/mhtool/zhanghua.key
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        who = name or center.staff.name
        center.admin.staff_passwd(lambda: session.new_credential(key_file, who=who), who)
    output.success(_("credential changed for {who}").format(who=who))


@staff_app.command("remove")
def staff_remove(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The staff member to remove.")]) -> None:
    """Remove a staff member: delete their slots and rotate every key (re-encrypts everything, resumably).

    Only key slots the staff directory trusts receive the new keys: a slot
    added or moved outside mhtool is dropped, and the drop is audited.

    Example: mhtool staff remove zhanghua
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center, output.progress(None, _("re-encrypting")) as advance:
        state = {"done": 0}

        def tick(done: int, total: int) -> None:
            advance(done - state["done"])
            state["done"] = done

        result = center.admin.staff_remove(name, progress=tick)
    output.success(
        _("removed {name}; the keys are now generation {generation} ({count} records re-encrypted)").format(
            name=name, generation=result["generation"], count=result["records_reencrypted"]
        )
    )


@staff_app.command("rotate-key")
def staff_rotate(ctx: typer.Context) -> None:
    """Rotate every key (a new generation of each tier) and re-encrypt every record; also resumes an interrupted rotation.

    Example: mhtool staff rotate-key
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        result = center.admin.rotate_key()
    output.success(
        _("the keys are now generation {generation} ({count} records re-encrypted)").format(
            generation=result["generation"], count=result["records_reencrypted"]
        )
    )


# -- audit ------------------------------------------------------------------------------------


@audit_app.command("log")
def audit_log(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Only the last N entries (0 = all).")] = 50,
    json: JsonOpt = False,
) -> None:
    """Show audit entries: time, staff, action, target record ids (auditor or admin)."""
    from mhtool.console import output, session
    from mhtool.domain.dates import local_moment, local_moment_text, utc_offset_text
    from mhtool.i18n import gettext_in, in_language

    with session.open_center(ctx) as center:
        entries = center.admin.audit_log(limit)
        zone = center.timezone
    if json:
        output.emit_json(entries)
        return
    lang = in_language(None)
    # Each entry's time is read once, for its cell and for the header's offset.
    moments = [local_moment(e.get("at"), zone) or e.get("at") for e in entries]
    for e, moment in zip(entries, moments):
        e["target_list"] = ", ".join(e.get("targets") or [])[:80]
        e["local_at"] = local_moment_text(moment, zone, seconds=True)
    output.emit_table(
        entries,
        [
            ("seq", "#"),
            ("local_at", gettext_in("time ({zone})", lang).format(zone=utc_offset_text(zone, moments))),
            ("staff", gettext_in("staff", lang)),
            ("action", gettext_in("action", lang)),
            ("target_list", gettext_in("targets", lang)),
        ],
    )


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context,
    head: Annotated[Optional[str], typer.Option("--head", help="A head saved earlier with `mhtool audit head` (SEQ:MAC).")] = None,
    deep: Annotated[
        bool, typer.Option("--deep", help="Also check every record against the version the chain last recorded, and run SQLite's integrity check.")
    ] = False,
    json: JsonOpt = False,
) -> None:
    """Recompute the audit chain and report the first broken entry (exit 1 when broken).

    With --deep, also find records edited, rolled back or deleted outside
    mhtool and a damaged database, each named by table and record.

    Example: mhtool audit verify --deep
    """
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        report = center.admin.audit_verify(head, deep=deep)
    if deep:
        _report_deep(report, json)
        return
    if json:
        output.emit_json(report.as_dict())
    if report.ok:
        output.success(_("audit chain intact: {entries} entries").format(entries=report.entries))
        if not json:
            output.emit_line(f"ok {report.entries}")
        return
    output.error(
        _("audit chain broken at entry {entry}: {reason}").format(entry=report.broken_at, reason=report.reason),
        _("restore from a backup and compare with a saved `audit head`"),
    )
    raise typer.Exit(1)


@audit_app.command("head")
def audit_head(ctx: typer.Context) -> None:
    """Print the chain's head (SEQ:MAC). Keep it outside the store to catch truncation or an old copy."""
    from mhtool.console import output, session

    with session.open_center(ctx) as center:
        head = center.admin.audit_head()
    output.emit_line(head)


# -- settings ---------------------------------------------------------------------------------


@settings_app.command("show")
def settings_show(ctx: typer.Context, json: JsonOpt = False) -> None:
    """Show the store's policies: screening policy overrides, follow-up cadence, purpose and retention rules."""
    from mhtool.console import output, session
    from mhtool.domain.labels import columns

    with session.open_center(ctx) as center:
        effective = center.admin.settings_show()
    if json:
        output.emit_json(effective)
        return
    from mhtool.admin.domain.settings_view import settings_rows
    from mhtool.i18n import in_language

    shown = in_language(None)
    output.emit_table(settings_rows(effective, shown), columns([("key", "setting"), ("what", "what"), ("value", "value")], shown))


@settings_app.command("set")
def settings_set(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="purpose_required_roles, retention_years, research_min_cell, center_name, term_first_monday, signal_fact_days or credits_required.")],
    value: Annotated[str, typer.Argument(help="Roles as a comma list (e.g. clerk,counselor; '' for none), or a whole number.")],
) -> None:
    """Change a governance policy (admin; audited).

    signal_fact_days is how long campus-signal facts are kept (default 140 days,
    one term; `mhtool retention apply` removes older ones); credits_required is
    the credits needed to graduate (default 160), for the 毕业欠学分 rule.

    \b
    Examples:
      mhtool settings set purpose_required_roles clerk,counselor
      mhtool settings set retention_years 7
      mhtool settings set signal_fact_days 120
    """
    from mhtool.console import output, session

    parsed: object = value
    if key == "purpose_required_roles":
        parsed = [r.strip() for r in value.split(",") if r.strip()]
    elif value.strip().lstrip("-").isdigit():
        parsed = int(value)
    from mhtool.console.options import usage_for
    from mhtool.errors import InvalidInput

    with session.open_center(ctx) as center, usage_for(key, errors=(InvalidInput,)):
        result = center.admin.settings_set(key, parsed)
    output.success(f"{key} = {result.get(key)}")


@settings_app.command("screening-policy")
def settings_screening_policy(
    ctx: typer.Context,
    file: Annotated[Optional[Path], typer.Argument(help="A TOML or JSON file of overrides, e.g. [phq9] orange = [{score = \"total\", min = 20}].")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Go back to the default policy (the instruments' own tier rules; see docs/design.md, 'Instruments and scoring').")] = False,
) -> None:
    """Replace the store's screening-policy overrides (admin; audited). New imports use it; stored results are not re-scored.

    A level given for an instrument replaces that level's rules; an empty list switches it off.
    """
    from mhtool.console import output, session
    from mhtool.errors import UsageError

    if reset == (file is not None):
        raise UsageError(_("give either a policy FILE or --reset"))
    with session.open_center(ctx) as center:
        center.admin.set_screening_policy(file=file)
    output.success(_("screening policy reset to the default") if reset else _("screening policy updated from {file}").format(file=file))


@settings_app.command("signal-rules")
def settings_signal_rules(
    ctx: typer.Context,
    file: Annotated[Optional[Path], typer.Argument(help="A TOML file of the shape of the built-in rules; only the keys it gives change, e.g. [dorm_out] threshold = 3.")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Go back to the built-in rules of 多源预警.")] = False,
) -> None:
    """Replace the store's override of the campus-signal rules (多源预警) (admin; audited).

    The file is checked completely before it is saved; a mistake names the
    file, the rule and the key. New imports use it; signals already raised
    stay as they are. `mhtool signals rules` shows the rules in force.

    Example: mhtool settings signal-rules 本校预警规则.toml
    """
    from mhtool.console import output, session
    from mhtool.errors import UsageError

    if reset == (file is not None):
        raise UsageError(_("give either a rules FILE or --reset"))
    with session.open_center(ctx) as center:
        center.admin.set_signal_rules(file)
    output.success(_("campus-signal rules reset to the built-in ones") if reset else _("campus-signal rules updated from {file}").format(file=file))


# -- once per session: the unlock agent ---------------------------------------------------------


def _duration(value: str) -> None:
    from mhtool.admin.usecases.unlock import duration_seconds

    duration_seconds(value)


def _when(epoch: float) -> str:
    """A time of day as the reader's clock shows it, with the date when it is not today."""
    from datetime import datetime

    moment = datetime.fromtimestamp(epoch)
    return moment.strftime("%H:%M:%S") if moment.date() == datetime.now().date() else moment.strftime("%Y-%m-%d %H:%M:%S")


def unlock(
    ctx: typer.Context,
    for_: Annotated[
        str, typer.Option("--for", metavar="DURATION", callback=checked(_duration), help="How long the store stays unlocked: 90s, 30m, 2h or 1h30m (at most 12h).")
    ] = "30m",
) -> None:
    """Type your passphrase once: the commands you run next open the store without asking, until --for runs out.

    A small background process (the unlock agent) keeps your unwrapped key, and
    only that, for the store and staff member given; only processes running as
    your own system user can reach it. It ends after --for, with `mhtool lock`,
    or when this terminal session ends. Unlocking again replaces it. Unlocking
    and locking are recorded in the audit log. Key files open the store without
    that wait, so key-file users need no agent.

    Example: mhtool unlock --for 2h
    """
    from mhtool.admin.usecases import unlock as unlocking
    from mhtool.console import output, session
    from mhtool.errors import UsageError

    st = session.settings(ctx)
    if st.key_file:
        output.info(_("MHTOOL_KEY_FILE is set: a key file opens the store at once, so there is nothing to unlock"))
        return
    if not st.user:
        raise UsageError(_("whose key? a passphrase opens one person's slot"), hint=_("pass --user NAME or set MHTOOL_USER"))
    seconds = unlocking.duration_seconds(for_)
    result = unlocking.unlock(st.store, session.credential(st, agent=False), st.user, seconds)
    session._warn_of_tampering(result["tampering"])
    if result["replaced"]:
        output.info(_("the unlock that was to end at {time} is replaced").format(time=_when(result["replaced"])))
    output.success(
        _("unlocked {store} for {user} until {time}; `mhtool lock` ends it sooner").format(store=result["store"], user=result["user"], time=_when(result["until"]))
    )
    if st.passphrase_file:
        output.info(_("MHTOOL_PASSPHRASE_FILE is set, and commands read it before asking the agent: unset it to use the agent"))


def lock(
    ctx: typer.Context,
    everything: Annotated[bool, typer.Option("--all", help="End every unlock of yours, whatever the store and staff member.")] = False,
) -> None:
    """End the unlock of this store (`mhtool unlock`): the next command asks for the passphrase again.

    Without --user or MHTOOL_USER, the unlocks of every staff member on this
    store are ended. Each end is recorded in the store's audit log. With
    nothing unlocked it says so and succeeds.

    Example: mhtool lock --all
    """
    from mhtool.admin.usecases import unlock as unlocking
    from mhtool.console import output, session

    st = session.settings(ctx)
    ended = unlocking.lock(st.store, st.user, everything=everything)
    if not ended:
        if everything:
            output.info(_("nothing is unlocked"))
        elif st.user:
            output.info(_("nothing is unlocked for {user} on {store}").format(user=st.user, store=st.store))
        else:
            output.info(_("nothing is unlocked on {store}").format(store=st.store))
        return
    for found in ended:
        output.success(
            _("locked {store} for {user} (the unlock was to last until {time})").format(store=found["store"], user=found["user"], time=_when(found["until"]))
        )
        if not found["recorded"]:
            output.warn(_("the end of that unlock is not in the store's audit log: {problem}").format(problem=found["problem"]))
