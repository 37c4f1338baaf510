"""The one way identifiable data leaves the store: purpose check → build → temporary file → audit → rename.

Dossier exports, referral records, reports, research exports and rejects
workbooks all pass through :meth:`ExportGateway.publish`; JSON and table output
of personal data through :meth:`ExportGateway.disclose`, which the command line
calls before it prints. Either way the audit entry commits first: a file
exists only if its audit entry does, and a failure (a locked store, a full
disk, an interrupt) leaves no file behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from mhtool.errors import MhtoolError, UsageError
from mhtool.governance.usecases.purpose import require_purpose
from mhtool.i18n import _

if TYPE_CHECKING:
    from mhtool.store.core import Store


class ExportGateway:
    def __init__(self, store: Store):
        self.store = store

    def purpose(self, purpose: str | None, *, what: str, identifiable: bool = True) -> dict:
        """The stated (or standing) purpose as audit details; refuses when the store's policy needs one."""
        return require_purpose(self.store, purpose, what=what, identifiable=identifiable)

    def publish(
        self,
        path: Path,
        write: Callable[[Path], object],
        *,
        action: str,
        what: str,
        purpose: str | None = None,
        identifiable: bool = True,
        targets: Iterable[str] = (),
        details: dict | None = None,
        name_in_audit: bool = True,
    ) -> Path:
        """Write ``path`` through ``write(temporary_path)``, audited under ``action``.

        ``name_in_audit=False`` keeps the file name out of the audit entry, for
        names that carry a student number (the log is append-only and outlives erasure).

        ``write`` builds the file at the temporary path it is given (in the
        target's folder, so the final rename is atomic). The rename happens
        inside the audit entry's transaction, after the entry is appended.
        """
        stated = self.purpose(purpose, what=what, identifiable=identifiable)
        path = Path(path)
        if path.is_symlink():
            # Never through a link: whoever placed it would choose where the data goes.
            raise UsageError(
                _("cannot write {path}: it is a symbolic link; mhtool never writes through one").format(path=path),
                hint=_("remove the link or choose another file name"),
            )
        tmp: Path | None = None
        published = False
        try:
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
            os.close(fd)
            tmp = Path(tmp_name)
            write(tmp)
            audit = {**(details or {}), **stated, **({"out": path.name} if name_in_audit else {})}

            def rename() -> None:
                nonlocal published
                os.replace(tmp, path)
                published = True

            with self.store.write(action, targets=list(targets), details=audit) as txn:
                txn.before_commit.append(rename)
        except OSError as exc:
            if published:
                path.unlink(missing_ok=True)
            raise MhtoolError(
                _("cannot write {path}: {error}").format(path=path, error=exc.strerror or exc), hint=_("check that the folder is writable and has free space")
            ) from exc
        except BaseException:
            if published:
                path.unlink(missing_ok=True)
            raise
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
        return path

    def disclose(
        self,
        *,
        action: str,
        what: str,
        purpose: str | None = None,
        identifiable: bool = True,
        targets: Iterable[str] = (),
        details: dict | None = None,
    ) -> dict:
        """Audit a disclosure of personal data on screen or stdout; the caller prints after this returns."""
        stated = self.purpose(purpose, what=what, identifiable=identifiable)
        self.store.audit_read(action, list(targets), {**(details or {}), **stated})
        return stated
