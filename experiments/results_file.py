"""The results files of the experiment runners: JSON lines, a header (the config, versions,
machine) then one row per finished run, appended as runs finish so that an interrupted run
resumes where it stopped. Every runner under ``experiments/`` reads and writes them here.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.metadata
import json
import os
import platform
import sys
from pathlib import Path
from typing import Callable

try:
    import fcntl
except ImportError:  # not POSIX: runner processes cannot share a file there
    fcntl = None

RESULTS = Path(__file__).resolve().parent / "results"


def version(package: str) -> str | None:
    """The installed version of ``package``, None when it is not installed."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine() -> dict:
    """What the runs ran on: CPU model, cores, platform, Python and JAX's device."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import jax

    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(), "jax_device": str(jax.devices()[0].device_kind)}


def installed(methods: list[str], peers: dict[str, tuple[str, ...]], hint: str = "") -> tuple[list[str], list[str]]:
    """``methods`` split into those that can run and the peers among them whose packages
    (``peers[method]``) are not installed; the latter are named on stderr."""
    missing = [m for m in methods if m in peers and any(version(p) is None for p in peers[m])]
    if missing:
        print(f"peers not installed, skipped: {', '.join(missing)}{hint}", file=sys.stderr)
    return [m for m in methods if m not in missing], missing


def provenance(*packages: str) -> dict:
    """Header fields: the versions of this library, JAX, NumPy and ``packages`` (None where one
    is not installed), the machine, and when the file was started."""
    import jax
    import numpy as np

    import warmstart_bo

    versions = {"warmstart_bo": warmstart_bo.__version__, "jax": jax.__version__, "numpy": np.__version__}
    return {
        "versions": {**versions, **{p: version(p) for p in packages}},
        "machine": machine(),
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def arguments(doc: str, out_default: str | None = None) -> argparse.ArgumentParser:
    """A runner's command line: the config, ``--fresh``, ``--no-progress`` and (when the runner
    takes one) ``--out``; runners add their own options to it."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", help="a JSON file under experiments/configs/")
    if out_default is not None:
        ap.add_argument("--out", default=None, help=f"default: {out_default}")
    ap.add_argument("--fresh", action="store_true", help="discard earlier results of this config")
    ap.add_argument("--no-progress", action="store_true")
    return ap


@contextlib.contextmanager
def exclusive(out: Path):
    """An exclusive lock on ``out``'s folder (``flock``) while a runner reads, rewrites or
    appends to ``out``: runner processes sharing a file (each on its own seeds) then neither
    lose a row appended while another rewrites the header nor collide on the rewrite."""
    if fcntl is None:
        yield
        return
    fd = os.open(out.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def resume(out: Path, config: dict, fresh: bool, header: Callable[[], dict], compatible: Callable[[dict, dict], bool] | None = None) -> tuple[dict, list[dict]]:
    """The header and rows already in ``out`` for ``config``, or a new file with ``header()``
    written when there is none (or ``fresh``). A file of another config stops the runner
    (``compatible(old, new)`` decides; the default asks for the same config). When a
    compatible config differs, the header takes it and records when (``"extended"``), so the
    file says what its rows answer. Done under :func:`exclusive`."""
    same = compatible or (lambda old, new: old == new)
    out.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(out):
        if out.exists() and not fresh:
            lines = out.read_text().splitlines()
            head = json.loads(lines[0])
            if not same(head["config"], config):
                sys.exit(f"{out} holds results of another configuration; pass --fresh (or move it away) to start over")
            if head["config"] != config:
                now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
                head = {**head, "config": config, "extended": [*head.get("extended", []), now]}
                tmp = out.with_suffix(out.suffix + ".tmp")
                tmp.write_text("\n".join([json.dumps(head), *lines[1:]]) + "\n")
                os.replace(tmp, out)
            return head, [json.loads(line) for line in lines[1:]]
        head = header()
        out.write_text(json.dumps(head) + "\n")
        return head, []


def more_seeds(old: dict, new: dict) -> bool:
    """Whether ``new`` is ``old`` run on more seeds: every other setting equal (the
    description aside), every old seed kept. Rows already run stay comparable."""
    rest = lambda c: {k: v for k, v in c.items() if k not in ("seeds", "description")}
    return rest(old) == rest(new) and set(old.get("seeds", [])) <= set(new.get("seeds", []))


def append(out: Path, rows: list[dict]) -> None:
    """Adds finished runs to ``out``, all of one unit in one ``write`` call on a file opened
    for appending, under :func:`exclusive`, so that runner processes sharing a file (each on
    its own seeds) never interleave their lines."""
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    with exclusive(out):
        fd = os.open(out, os.O_WRONLY | os.O_APPEND)
        try:
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(f"short write to {out}: {written} of {len(data)} bytes")
        finally:
            os.close(fd)
