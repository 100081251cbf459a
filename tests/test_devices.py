"""Which precision `train.mixed_precision = auto` picks, from the CPU's own flags."""

import torch

from lcl_tui.devices import autocast_dtype, cpuinfo_field, cpuinfo_has_bf16


def cpuinfo(tmp_path, flags: str):
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu sse2 {flags}\n\n")
    return path


def test_native_bf16_flags_are_read_from_cpuinfo(tmp_path):
    assert cpuinfo_has_bf16(cpuinfo(tmp_path, "avx512f avx512_bf16"))
    assert cpuinfo_has_bf16(cpuinfo(tmp_path, "amx_bf16 amx_tile"))
    # avx512f alone emulates bf16, which is slower than fp32.
    assert not cpuinfo_has_bf16(cpuinfo(tmp_path, "avx512f avx2"))
    assert not cpuinfo_has_bf16(tmp_path / "missing")


def test_auto_uses_bf16_on_a_cpu_only_where_it_is_native(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr("lcl_tui.devices.cpu_has_bf16_instructions", lambda: True)
    assert autocast_dtype(cpu, "auto") is torch.bfloat16
    assert autocast_dtype(cpu, "no") is None
    monkeypatch.setattr("lcl_tui.devices.cpu_has_bf16_instructions", lambda: False)
    assert autocast_dtype(cpu, "auto") is None
    assert autocast_dtype(cpu, "bf16") is torch.bfloat16  # asked for by name: given


def test_cpuinfo_fields_are_read_by_name(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu avx2\n\nprocessor\t: 1\n"
                    "vendor_id\t: GenuineIntel\n")
    assert cpuinfo_field(path, "vendor_id") == "AuthenticAMD"  # the first CPU's
    assert cpuinfo_field(path, "flags") == "fpu avx2"
    assert cpuinfo_field(path, "model name") == ""
    assert cpuinfo_field(tmp_path / "missing", "flags") == ""
