"""The lock: the exact versions, with hashes, of everything `make lab` and `make test` install.

    python -m course_tools.lock install lab|dev|instructor   what the Makefile runs
    python -m course_tools.lock update                       `make lock`: resolve anew (uv)
    python -m course_tools.lock check                        pyproject and the lock agree

``pyproject.toml`` keeps lower bounds; the lock in ``requirements/`` pins one tested set, for
every platform and Python >= 3.10, from a single resolution (uv's universal resolver), so the
layers below never disagree on a version:

    lab.txt         what a learner needs (make lab)
    dev.txt         -r lab.txt, plus the tests and the linter (make test)
    instructor.txt  -r dev.txt, plus nbgrader (make test-nbgrader)
    torch-cuda.txt  the CUDA libraries that PyPI's Linux build of torch needs

pip, not uv, installs from it, with ``--require-hashes --no-deps`` (the lock is complete, and
``pip check`` confirms it): pip is what finds a CPU build of torch where a machine provides
one as a local wheel (``--find-links``), and the torch line records that build's hash next to
PyPI's. ``torch-cuda.txt`` is installed only when pip chose PyPI's CUDA build, so a CPU
machine never downloads the several GB of CUDA libraries.

Only the standard library is imported at module level: ``install`` runs before anything else
is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CUDA_PACKAGE", "LAYERS", "LOCK_DIR", "Pin", "check", "install", "parse_lock",
           "pyproject_digest", "update"]

ROOT = Path(__file__).resolve().parents[1]
LOCK_DIR = ROOT / "requirements"
# layer -> (pyproject extras resolved for it, the layer it extends)
LAYERS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "lab": ((), None),
    "dev": (("dev",), "lab"),
    "instructor": (("dev", "instructor"), "dev"),
}
CUDA_FILE = "torch-cuda.txt"
# The CUDA runtime of PyPI's torch build: kept out of the layers, in torch-cuda.txt.
CUDA_PACKAGE = re.compile(r"^(nvidia-.*|cuda-.*|triton)$")
MIN_PYTHON = "3.10"
_DIGEST_LINE = "# pyproject-sha256: "
_CPU_NOTE = "# torch's CPU build (a local wheel where a machine provides one):"


# ---------------------------------------------------------------------------- reading

def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Pin:
    """One locked requirement: ``name==version ; marker`` with its hashes (and raw lines)."""

    name: str
    version: str
    marker: str
    hashes: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.name, self.version, self.marker


_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]*?))?\s*\\?$")


def parse_lock(text: str) -> tuple[list[str], list[Pin]]:
    """The ``-r`` includes and the pins of a lock file. Raises ``ValueError`` on a line that
    is neither a pin, a hash, an include nor a comment (a hand edit gone wrong)."""
    includes, pins = [], []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            if pins and raw.startswith("    #"):
                pins[-1].lines.append(raw)       # uv's "# via" notes belong to the pin above
            continue
        if line.startswith("-r "):
            includes.append(line[3:].strip())
        elif line.startswith("--hash=sha256:"):
            if not pins:
                raise ValueError(f"line {number}: a hash before any requirement")
            pins[-1].hashes.append(line.split(":", 1)[1].rstrip(" \\"))
            pins[-1].lines.append(raw)
        elif match := _PIN.match(line):
            pins.append(Pin(_canonical(match.group(1)), match.group(2), match.group(3) or "",
                            lines=[raw]))
        else:
            raise ValueError(f"line {number}: expected `name==version [; marker] \\`, a hash, "
                             f"`-r FILE` or a comment, got {line!r}")
    return includes, pins


def _read_pins(layer_file: Path) -> list[Pin]:
    """Pins of a lock file and of the files it includes (``-r``)."""
    includes, pins = parse_lock(layer_file.read_text(encoding="utf-8"))
    for include in includes:
        pins = _read_pins(layer_file.parent / include) + pins
    return pins


def _project() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:   # Python 3.10
        import tomli as tomllib
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def pyproject_digest(project: dict | None = None) -> str:
    """SHA-256 of what the lock is resolved from: pyproject's Python range, dependencies and
    extras. Any change there asks for `make lock`."""
    project = project if project is not None else _project()
    what = {"requires-python": project.get("requires-python"),
            "dependencies": project.get("dependencies", []),
            "optional-dependencies": project.get("optional-dependencies", {})}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


# ---------------------------------------------------------------------------- install

def _pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", *args]
    print("+ " + shlex.join(["pip", *args]), flush=True)
    subprocess.run(command, check=True)


def _torch_needs_cuda() -> bool:
    """Whether the torch pip installed is a build that requires the CUDA packages (PyPI's
    Linux build does; a CPU build does not). Asked in a fresh process: this one's metadata
    caches predate the install."""
    probe = ("import importlib.metadata as m, re, sys; "
             "sys.exit(any(re.match(r'(nvidia-|triton)', r) for r in m.requires('torch') or []))")
    return subprocess.run([sys.executable, "-c", probe], check=False).returncode == 1


def _install_local_cpu_torch() -> None:
    """Where pip's ``--find-links`` folders hold a CPU build of the locked torch with the
    hash the lock notes, install it first: the lock's line is then satisfied and pip does not
    download PyPI's CUDA build (which it would prefer, as its index gives a hash up front)."""
    lab = (LOCK_DIR / "lab.txt").read_text(encoding="utf-8")
    torch = next((p for p in parse_lock(lab)[1] if p.name == "torch"), None)
    installed = _installed_version("torch")
    if torch is None or (installed and installed.split("+")[0] == torch.version):
        return
    local = {name: digest for name, digest in _noted_cpu_hashes(torch.version, lab).items()
             if any((folder / name).is_file() for folder in _find_links())}
    if not local:
        return
    with tempfile.TemporaryDirectory(prefix="course-torch-") as tmp:
        wanted = Path(tmp) / "torch-cpu.txt"
        wanted.write_text(f"torch=={torch.version} "
                          + " ".join(f"--hash=sha256:{d}" for d in local.values()) + "\n")
        command = [sys.executable, "-m", "pip", "install", "--require-hashes", "--no-deps",
                   "--no-index", *[f"--find-links={f}" for f in _find_links()], "-r",
                   str(wanted)]
        print(f"Installing torch's CPU build from this machine ({', '.join(local)})",
              flush=True)
        if subprocess.run(command, check=False).returncode != 0:
            print("(not for this Python: pip takes torch from the index instead)", flush=True)


def _installed_version(name: str) -> str | None:
    probe = (f"import importlib.metadata as m\ntry: print(m.version({name!r}))\n"
             f"except m.PackageNotFoundError: pass")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=False)
    return done.stdout.strip() or None


def install(layer: str) -> None:
    """Install ``layer``'s lock (see module doc), the CUDA runtime only where torch's build
    needs it, then this project itself (editable, no dependencies), and check the set."""
    if layer not in LAYERS:
        raise ValueError(f"layer: expected one of {sorted(LAYERS)}, got {layer!r}")
    lock = LOCK_DIR / f"{layer}.txt"
    count = len(_read_pins(lock))
    print(f"Installing {layer}: {count} locked packages from {lock.relative_to(ROOT)} "
          f"(cached after the first time)", flush=True)
    _install_local_cpu_torch()
    _pip("install", "--require-hashes", "--no-deps", "--progress-bar", "on", "-r", str(lock))
    if _torch_needs_cuda():
        print("This torch is PyPI's CUDA build: installing its locked CUDA libraries",
              flush=True)
        _pip("install", "--require-hashes", "--no-deps", "-r", str(LOCK_DIR / CUDA_FILE))
    _pip("install", "--quiet", "--no-deps", "-e", str(ROOT))
    _pip("check")


# ---------------------------------------------------------------------------- check

def check() -> list[str]:
    """Every way the lock disagrees with pyproject.toml (empty when they agree): a stale
    digest, a requirement whose pinned versions miss its bounds, a pin without a hash, a
    developers' tool in the learner's layer, a CUDA package outside torch-cuda.txt."""
    from packaging.requirements import Requirement
    from packaging.version import Version

    problems = []
    project = _project()
    digest = pyproject_digest(project)
    extras = project.get("optional-dependencies", {})
    layer_pins = {}
    for layer, (layer_extras, _) in LAYERS.items():
        path = LOCK_DIR / f"{layer}.txt"
        if not path.is_file():
            problems.append(f"{path.relative_to(ROOT)} is missing: run `make lock`")
            continue
        text = path.read_text(encoding="utf-8")
        if f"{_DIGEST_LINE}{digest}" not in text:
            problems.append(f"{path.name} was locked from another pyproject.toml (its "
                            f"dependencies changed since): run `make lock`")
        pins = _read_pins(path)
        layer_pins[layer] = pins
        by_name: dict[str, list[Pin]] = {}
        for pin in pins:
            by_name.setdefault(pin.name, []).append(pin)
            if not pin.hashes:
                problems.append(f"{path.name}: {pin.name}=={pin.version} has no hash")
            if CUDA_PACKAGE.match(pin.name):
                problems.append(f"{path.name}: {pin.name} belongs in {CUDA_FILE}")
        wanted = project["dependencies"] + [r for e in layer_extras for r in extras.get(e, [])]
        for text_req in wanted:
            requirement = Requirement(text_req)
            found = by_name.get(_canonical(requirement.name), [])
            if not found:
                problems.append(f"{path.name}: pyproject asks for {text_req!r}, the lock has "
                                f"no {requirement.name}")
            for pin in found:
                if not requirement.specifier.contains(Version(pin.version), prereleases=True):
                    problems.append(f"{path.name}: {pin.name}=={pin.version} does not satisfy "
                                    f"pyproject's {text_req!r}")
    if "lab" in layer_pins:
        base = {_canonical(Requirement(r).name) for r in project["dependencies"]}
        for pin in layer_pins["lab"]:
            if _vias(pin) == {"course-lib"} and pin.name not in base:
                problems.append(f"lab.txt: {pin.name} is no dependency of a learner's package "
                                f"(a developers' tool?)")
    cuda = LOCK_DIR / CUDA_FILE
    if not cuda.is_file():
        problems.append(f"{cuda.relative_to(ROOT)} is missing: run `make lock`")
    else:
        for pin in _read_pins(cuda):
            if not CUDA_PACKAGE.match(pin.name):
                problems.append(f"{CUDA_FILE}: {pin.name} is not part of the CUDA runtime")
            if not pin.hashes:
                problems.append(f"{CUDA_FILE}: {pin.name}=={pin.version} has no hash")
    return problems


def _vias(pin: Pin) -> set[str]:
    """The packages that need ``pin``, from uv's "# via" notes (``course-lib`` for this
    project's own requirements)."""
    notes = " ".join(line.strip().lstrip("#").strip() for line in pin.lines
                     if line.lstrip().startswith("#"))
    return {_canonical(word) for word in re.sub(r"\(pyproject\.toml\)|^via\b|\bvia\b", " ",
                                                notes).split()}


# ---------------------------------------------------------------------------- update

def _uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if found is None:
        raise RuntimeError("`make lock` needs uv to resolve: `.venv/bin/pip install uv`")
    return found


def _compile(uv: str, sources: list[str], out: Path, *args: str) -> None:
    command = [uv, "pip", "compile", *sources, "--universal", "--python-version", MIN_PYTHON,
               "--generate-hashes", "--quiet", "--no-header", "-o", str(out), *args]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"uv could not resolve ({shlex.join(command)}):\n{done.stderr}")


def _find_links() -> list[Path]:
    """Folders pip searches for local wheels here (``--find-links`` in its config or env)."""
    done = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True,
                          text=True, check=False)
    values = re.findall(r"find-links='([^']*)'", done.stdout)
    values.append(os.environ.get("PIP_FIND_LINKS", ""))
    return [Path(p) for v in values for p in v.split() if p and Path(p).is_dir()]


def _noted_cpu_hashes(version: str, lock_text: str) -> dict[str, str]:
    """The CPU builds of torch ``version`` a lock notes: file name -> hash."""
    note = re.compile(rf"^{re.escape(_CPU_NOTE)} (torch-{re.escape(version)}\+cpu-\S+\.whl) "
                      r"([0-9a-f]{64})$", re.MULTILINE)
    return dict(note.findall(lock_text))


def _cpu_torch_hashes(version: str, old_text: str) -> dict[str, str]:
    """Hashes of torch ``version``'s CPU build: local wheels pip would find here, and those
    the previous lock noted for the same version (so that a machine without the wheel keeps
    them). File name -> hash."""
    found = _noted_cpu_hashes(version, old_text)
    for folder in _find_links():
        for wheel in folder.glob(f"torch-{version}+cpu-*.whl"):
            found[wheel.name] = hashlib.sha256(wheel.read_bytes()).hexdigest()
    return found


def _block(pin: Pin) -> str:
    # uv notes the temporary constraints file among a pin's sources: not worth a diff per run
    lines = [line for line in pin.lines if not re.match(r"\s*#\s+(via )?-c \S+$", line)]
    return "\n".join(lines) + "\n"


def _with_cpu_torch(pin: Pin, cpu: dict[str, str]) -> Pin:
    """The torch pin with the CPU build's hashes added after PyPI's (and noted above them)."""
    notes = [f"{_CPU_NOTE} {name} {digest}" for name, digest in sorted(cpu.items())]
    head, hash_lines = pin.lines[0], [x for x in pin.lines[1:] if "--hash=" in x]
    others = [x for x in pin.lines[1:] if "--hash=" not in x]
    extra = [f"    --hash=sha256:{d}" for d in sorted(set(cpu.values())) if d not in pin.hashes]
    all_hashes = [h.rstrip(" \\") for h in hash_lines] + extra
    lines = notes + [head] + [h + " \\" for h in all_hashes[:-1]] + all_hashes[-1:] + others
    return Pin(pin.name, pin.version, pin.marker, pin.hashes + extra[:], lines)


def _header(layer: str, digest: str, uv_version: str, note: str) -> str:
    return (f"# The lock ({layer}): {note}\n"
            f"# Written by `make lock` (python -m course_tools.lock update, {uv_version}) from "
            f"pyproject.toml; do not edit.\n"
            f"# Installed by `python -m course_tools.lock install` with pip --require-hashes "
            f"--no-deps.\n"
            f"{_DIGEST_LINE}{digest}\n")


_NOTES = {
    "lab": "what a learner needs (make lab)",
    "dev": "the learner's set plus the tests and the linter (make test)",
    "instructor": "the developers' set plus nbgrader (make test-nbgrader)",
}


def update() -> list[Path]:
    """Resolve pyproject.toml anew with uv and write the lock files; return them."""
    uv = _uv()
    uv_version = subprocess.run([uv, "--version"], capture_output=True, text=True,
                                check=True).stdout.strip()
    project = _project()
    torch_req = next(r for r in project["dependencies"] if _canonical(
        re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0]) == "torch")
    old_lab = LOCK_DIR / "lab.txt"
    old = old_lab.read_text(encoding="utf-8") if old_lab.is_file() else ""
    written = []
    LOCK_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="course-lock-") as tmp:
        tmp_dir = Path(tmp)
        # 1. torch alone tells which packages are its CUDA runtime
        (tmp_dir / "torch.in").write_text(torch_req + "\n")
        _compile(uv, [str(tmp_dir / "torch.in")], tmp_dir / "torch.txt")
        torch_pins = parse_lock((tmp_dir / "torch.txt").read_text())[1]
        cuda = sorted({p.name for p in torch_pins if CUDA_PACKAGE.match(p.name)})
        (tmp_dir / "cuda.txt").write_text("".join(f"{name}\n" for name in cuda))
        # 2. one resolution of every extra, without the CUDA runtime; each layer is resolved
        #    under its versions, so the layers agree
        full = tmp_dir / "full.txt"
        _compile(uv, ["pyproject.toml"], full, "--all-extras", "--excludes",
                 str(tmp_dir / "cuda.txt"))
        layer_pins: dict[str, list[Pin]] = {}
        for layer, (extras, _) in LAYERS.items():
            out = tmp_dir / f"{layer}.txt"
            args = [a for e in extras for a in ("--extra", e)]
            _compile(uv, ["pyproject.toml"], out, *args, "-c", str(full), "--excludes",
                     str(tmp_dir / "cuda.txt"))
            layer_pins[layer] = parse_lock(out.read_text())[1]
        # 3. the CUDA runtime under the same versions
        _compile(uv, [str(tmp_dir / "torch.in")], tmp_dir / "cuda-lock.txt", "-c", str(full))
        cuda_pins = [p for p in parse_lock((tmp_dir / "cuda-lock.txt").read_text())[1]
                     if CUDA_PACKAGE.match(p.name)]
    digest = pyproject_digest(project)
    for layer, (_, base) in LAYERS.items():
        below = {p.key for p in layer_pins[base]} if base else set()
        below_names = {p.name: p for p in layer_pins[base]} if base else {}
        pins = []
        for pin in layer_pins[layer]:
            if pin.key in below:
                continue
            if pin.name in below_names:
                raise RuntimeError(f"{pin.name}: {layer} resolved {pin.key}, {base} resolved "
                                   f"{below_names[pin.name].key}; lock the two by hand")
            if pin.name == "torch":
                pin = _with_cpu_torch(pin, _cpu_torch_hashes(pin.version, old))
            pins.append(pin)
        body = (f"-r {base}.txt\n" if base else "") + "".join(_block(p) for p in pins)
        path = LOCK_DIR / f"{layer}.txt"
        path.write_text(_header(layer, digest, uv_version, _NOTES[layer]) + body,
                        encoding="utf-8")
        written.append(path)
    path = LOCK_DIR / CUDA_FILE
    path.write_text(_header("torch-cuda", digest, uv_version, "the CUDA libraries of PyPI's "
                            "Linux torch build, installed only with that build")
                    + "".join(_block(p) for p in cuda_pins), encoding="utf-8")
    written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_tools.lock", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("install").add_argument("layer", choices=sorted(LAYERS))
    commands.add_parser("update")
    commands.add_parser("check")
    args = parser.parse_args(argv)
    if args.command == "install":
        install(args.layer)
    elif args.command == "update":
        for path in update():
            print(f"wrote {path.relative_to(ROOT)} ({len(_read_pins(path))} packages with "
                  f"what it includes)")
    else:
        problems = check()
        print("\n".join(problems) or "the lock agrees with pyproject.toml")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
