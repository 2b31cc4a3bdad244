"""Memory of a running model: process RSS peak over idle, and GPU memory from the driver.

torch's allocator statistics miss ONNX Runtime's arena and TensorRT's engine memory, so the figures come
from the process (psutil RSS, sampled on a background thread, plus the kernel's own ru_maxrss high-water
mark when the process is fresh) and from the GPU driver (NVML through pynvml, else `nvidia-smi`), with
torch's allocator only as a labelled last resort. `bench` measures each artifact in a fresh subprocess
so that one artifact's peak is not hidden under another's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading

from edgerppg.bench.results import MemoryStats


def rss_bytes() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def maxrss_bytes() -> int | None:
    """The kernel's high-water mark of this process's RSS (Linux reports KiB, macOS bytes)."""
    try:
        import resource
        import sys
    except ImportError:  # pragma: no cover - Windows
        return None
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(value if sys.platform == "darwin" else value * 1024)


def run_peak_rss(argv: list[str], env: dict | None = None) -> tuple[int, float, int]:
    """(peak RSS in bytes, wall seconds, exit code) of the command `argv`, its stdout discarded.

    The peak is the kernel's high-water mark for the child (`os.wait4`'s ru_maxrss), so a short-lived peak
    between two samples is not missed, and nothing polls beside it. It counts that process only, not its own
    children (POSIX; os.wait4 does not exist on Windows).
    """
    import sys
    import time

    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: tell Popen so that it does not wait again
    peak = usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024
    return int(peak), time.perf_counter() - start, proc.returncode


class MemorySampler:
    """Context manager: idle RSS at entry, peak RSS sampled every `interval` seconds until exit."""

    def __init__(self, interval: float = 0.005, isolated: bool = False, device: str = "cpu"):
        self.interval, self.isolated, self.device = interval, isolated, device
        self.idle = self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "MemorySampler":
        self.idle = self.peak = rss_bytes()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, rss_bytes())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak = max(self.peak, rss_bytes())
        if self.isolated:  # a fresh process: the kernel's high-water mark belongs to this artifact alone
            self.peak = max(self.peak, maxrss_bytes() or 0)

    def stats(self) -> MemoryStats:
        gpu, source = gpu_memory_bytes() if self.device.startswith("cuda") else (None, None)
        return MemoryStats(rss_idle_bytes=self.idle, rss_peak_bytes=self.peak,
                           rss_increase_bytes=max(0, self.peak - self.idle), isolated=self.isolated,
                           gpu_bytes=gpu, gpu_source=source)


def gpu_memory_bytes(pid: int | None = None) -> tuple[int | None, str | None]:
    """GPU memory used by this process: NVML, else nvidia-smi, else torch's allocator peak (labelled)."""
    pid = os.getpid() if pid is None else pid
    for probe in (_nvml_bytes, _smi_bytes, _torch_bytes):
        value = probe(pid)
        if value is not None:
            return value
    return None, None


def _nvml_bytes(pid: int):
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        total = 0
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            for proc in pynvml.nvmlDeviceGetComputeRunningProcesses(handle):
                if proc.pid == pid and proc.usedGpuMemory:
                    total += int(proc.usedGpuMemory)
        return (total, "nvml") if total else None
    except Exception:  # NVML missing in a container, no driver: fall through to the next probe
        return None


def _smi_bytes(pid: int):
    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    total = 0
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 2 and parts[0] == str(pid) and parts[1].isdigit():
            total += int(parts[1]) * 2**20
    return (total, "nvidia-smi") if total else None


def _torch_bytes(pid: int):
    import sys

    torch = sys.modules.get("torch")  # only if the backend already imported it
    if torch is None or not torch.cuda.is_available():
        return None
    return int(torch.cuda.max_memory_allocated()), "torch-allocator"


def gpu_info() -> dict | None:
    """GPU name, driver and memory for the environment record (nvidia-smi, else torch), None without a GPU."""
    exe = shutil.which("nvidia-smi")
    if exe:
        try:
            out = subprocess.run([exe, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=10).stdout.strip().splitlines()
        except (OSError, subprocess.SubprocessError):
            out = []
        if out:
            name, driver, total = [p.strip() for p in out[0].split(",")][:3]
            return {"gpu": name, "driver": driver, "gpu_memory_mib": float(total), "gpus": len(out)}
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        return {"gpu": props.name, "driver": None, "gpu_memory_mib": props.total_memory / 2**20,
                "cuda": torch.version.cuda}
    return None
