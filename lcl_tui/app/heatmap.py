"""The arithmetic behind the monitor's class-by-class heatmaps (label affinity, centroid
similarity), with no Textual in it: the colour scale, the closest pairs, header lines.

The colours are xterm-256 palette entries (a blue-green-yellow ramp, dark to bright), so
the scale reads the same in a 256-colour terminal as in a truecolor one.
"""

from __future__ import annotations

from dataclasses import dataclass

# Dark blue -> teal -> green -> yellow: xterm-256 colour numbers, in order of value.
RAMP = (17, 18, 25, 31, 37, 36, 72, 113, 149, 184, 220, 226)
# The first entries are dark: white text on them, black on the rest.
DARK_STEPS = 5


def off_diagonal_range(matrix: list[list[float]]) -> tuple[float, float]:
    """(lowest, highest) value off the diagonal: the scale spans these, as the diagonal
    (a class with itself) would flatten everything else."""
    values = [v for i, row in enumerate(matrix) for j, v in enumerate(row) if i != j]
    if not values:
        return 0.0, 1.0
    return min(values), max(values)


def ramp_step(value: float, low: float, high: float) -> int:
    """Which entry of RAMP a value takes on a scale from `low` to `high`."""
    if high <= low:
        return len(RAMP) - 1 if value >= high else 0
    share = (value - low) / (high - low)
    return max(0, min(len(RAMP) - 1, int(share * len(RAMP))))


@dataclass(frozen=True)
class ClosePair:
    first: str
    second: str
    value: float


def closest_pairs(matrix: list[list[float]], labels: list[str], symmetric: bool,
                  limit: int = 10) -> list[ClosePair]:
    """The largest off-diagonal cells, largest first: `first -> second` (row, column), each
    unordered pair once when the matrix is symmetric."""
    pairs = []
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if i == j or (symmetric and j < i):
                continue
            pairs.append(ClosePair(labels[i] if i < len(labels) else str(i),
                                   labels[j] if j < len(labels) else str(j), value))
    pairs.sort(key=lambda p: (-p.value, p.first, p.second))
    return pairs[:limit]


def header_lines(label: str, width: int, lines: int = 2) -> list[str]:
    """A column header over `lines` lines of `width`: words kept whole where they fit, the
    rest cut with an ellipsis (so "very negative" reads "very" / "negative" at width 8)."""
    words = label.replace("_", " ").replace("-", "- ").split()
    out: list[str] = []
    current = ""
    for word in words:
        joined = f"{current} {word}".strip() if not current.endswith("-") else current + word
        if len(joined) <= width:
            current = joined
            continue
        if current:
            out.append(current)
        current = word
    out.append(current)
    if len(out) > lines:
        out = out[: lines - 1] + [" ".join(out[lines - 1:])]
    out = [line if len(line) <= width else line[: max(1, width - 1)] + "…" for line in out]
    return [""] * (lines - len(out)) + out  # bottom-aligned over the cells
