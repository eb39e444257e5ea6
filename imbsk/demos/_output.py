"""Checks the demos run before any work: the output folder, and the extras the outputs need."""

import os

__all__ = ["check_output_folder"]


def _nearest_existing(path):
    """``path`` or its nearest ancestor that exists (the folder ``os.makedirs`` would create under)."""
    path = os.path.abspath(path)
    while not os.path.lexists(path):
        parent = os.path.dirname(path)
        if parent == path:  # pragma: no cover - the root always exists
            break
        path = parent
    return path


def check_output_folder(out, filenames, overwrite=False):
    """Make sure a demo can write ``filenames`` into ``out`` without replacing anything.

    Run before any training, so that a bad ``out`` costs nothing; the demos run it again just before
    writing, in case a file appeared meanwhile.

    Parameters
    ----------
    out : str or path-like or None
        The output folder; it may not exist yet. ``None`` (write nothing) passes.
    filenames : iterable of str
        Names of the files the demo will write into ``out``.
    overwrite : bool, default=False
        Allow replacing existing files of these names (other files in ``out`` are never touched).

    Raises
    ------
    ValueError
        If ``out`` is empty, or it or the folder it would be created in is a file.
    PermissionError
        If that folder is not writable.
    FileExistsError
        If one of ``filenames`` exists in ``out`` and ``overwrite`` is false, or is a folder.
    """
    if out is None:
        return
    path = os.fspath(out)
    if isinstance(path, bytes) or not path:
        raise ValueError(f"out must be a folder path (str) or None; got {out!r}.")
    base = _nearest_existing(path)
    if not os.path.isdir(base):
        where = "is a file" if base == os.path.abspath(path) else f"would be created inside {base!r}, a file"
        raise ValueError(f"the output folder {path!r} {where}, not a folder; choose another --out.")
    if not os.access(base, os.W_OK | os.X_OK):
        verb = "write into" if base == os.path.abspath(path) else f"create it in {base!r}"
        raise PermissionError(f"the output folder {path!r}: no permission to {verb}; choose another --out.")
    if base != os.path.abspath(path):
        return
    existing = [name for name in filenames if os.path.lexists(os.path.join(path, name))]
    folders = [name for name in existing if os.path.isdir(os.path.join(path, name))]
    if folders:
        raise FileExistsError(f"cannot write {folders} in the output folder {path!r}: they are folders.")
    if existing and not overwrite:
        raise FileExistsError(
            f"the output folder {path!r} already holds {', '.join(existing)}; pass --overwrite "
            "(overwrite=True) to replace them, or choose another --out."
        )
