"""The CPU run's malloc settings (lcl_tui/allocator.py)."""

import platform
import subprocess
import sys

import pytest

# Allocate, touch, free and allocate 16 MiB again: the page faults of touching it again say
# whether the memory stayed in the process (few) or went back to the kernel (one a page).
REFAULTS = """
import ctypes, ctypes.util, resource, sys
from lcl_tui.allocator import keep_freed_memory
tuned = keep_freed_memory() if sys.argv[1] == "tuned" else False
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
size = 16 << 20
block = libc.malloc(size); ctypes.memset(block, 1, size); libc.free(block)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
block = libc.malloc(size); ctypes.memset(block, 1, size)
print(tuned, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def refaults(mode: str) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", REFAULTS, mode], capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_freed_memory_stays_in_the_process():
    # In children: the settings are process-wide and stay for the rest of the process.
    assert refaults("untuned")[1] >= 4000  # 4096 pages of 4 KiB
    tuned, faults = refaults("tuned")
    assert tuned == "True"
    assert faults < 100
