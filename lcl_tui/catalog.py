"""Where presets and sweep files come from: the ones shipped inside the package, and your
own in `./presets` and `./sweeps` (the current directory), which win on a name clash.

The shipped ones are the repository's top-level `presets/` and `sweeps/` folders; the
package holds them as `lcl_tui/presets` and `lcl_tui/sweeps` (links in a checkout, copies
in a wheel) and reads them through `importlib.resources`, so an installed tool finds them
wherever it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

PRESETS = "presets"
SWEEPS = "sweeps"
PACKAGED = "packaged"


@dataclass(frozen=True)
class CatalogFile:
    name: str  # the file's stem: what `lcl-tui train NAME` and `lcl-tui sweep NAME` take
    path: Path
    origin: str  # "packaged", or the folder it was found in ("presets", "sweeps": yours)
    top_level: bool  # not in a subfolder (presets/paper/)


def packaged_folder(kind: str) -> Path:
    """`presets` or `sweeps` as shipped in the package."""
    return Path(str(resources.files("lcl_tui") / kind))


def user_folder(kind: str) -> Path:
    """Your own `presets` or `sweeps`: in the current directory."""
    return Path(kind)


def catalog(kind: str) -> list[CatalogFile]:
    """Every `.toml` of a kind once by name, yours before the packaged ones (yours win a
    clash); in each, top-level files first, then subfolders, by path."""
    packaged = packaged_folder(kind)
    sources = [(packaged, PACKAGED)]
    yours = user_folder(kind)
    # Run from the checkout, ./presets is the packaged folder itself: list it once.
    if yours.is_dir() and not (packaged.is_dir() and yours.resolve() == packaged.resolve()):
        sources.insert(0, (yours, kind))
    found: dict[str, CatalogFile] = {}
    for folder, origin in sources:
        for path in sorted(folder.rglob("*.toml"), key=lambda p: (len(p.relative_to(folder).parts), p)):
            top_level = path.parent == folder
            found.setdefault(path.stem, CatalogFile(path.stem, path, origin, top_level))
    return list(found.values())


def find(kind: str, name: str) -> Path | None:
    """The file a name stands for (yours first), or None."""
    return next((entry.path for entry in catalog(kind) if entry.name == name), None)


def preset_files() -> list[CatalogFile]:
    return catalog(PRESETS)


def preset_names() -> list[str]:
    """Every preset's name, in the order `lcl-tui presets` lists them (yours, then the
    packaged ones, top level before presets/paper/): the app's preset list and palette."""
    return [entry.name for entry in preset_files()]


def sweep_files() -> list[CatalogFile]:
    """The sweep files (shipped, and yours in ./sweeps): the app's palette lists them."""
    return [entry for entry in catalog(SWEEPS) if entry.top_level]
